"""Tests of the training bindings: vocabularies, loaders, pre-training, fine-tuning, evaluation,
prediction, checkpoints, errors and cancelling. Tiny data and a few steps: a few seconds."""
import math
import os
import random
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libtransfer as lt  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None

HAM = "meeting project schedule report team lunch code review kernel patch thanks".split()
SPAM = "free money offer click win prize cash now credit loan deal".split()


def _text(rng, words, n=10):
    return " ".join(rng.choice(words) for _ in range(n))


class TrainTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tf_py_train_")
        rng = random.Random(5)
        cls.corpus = os.path.join(cls.dir, "corpus.txt")
        with open(cls.corpus, "w") as f:
            for i in range(240):
                f.write(_text(rng, HAM if i % 2 else SPAM) + " .\n")
        cls.train = os.path.join(cls.dir, "train.tsv")
        cls.valid = os.path.join(cls.dir, "valid.tsv")
        for path, n in ((cls.train, 60), (cls.valid, 20)):
            with open(path, "w") as f:
                for i in range(n):
                    label = "spam" if i % 3 == 0 else "ham"
                    f.write(f"{label}\t{_text(rng, SPAM if label == 'spam' else HAM)}\n")
        cls.bad = os.path.join(cls.dir, "bad.tsv")
        with open(cls.bad, "w") as f:
            f.write("ham\tfine line\nthis line has no tab\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def _pretrained(self, ctx, steps=6, **kw):
        pair = lt.Loader.lm_with_vocab(ctx, [self.corpus], vocab_options={"max_size": 64,
                                                                          "lowercase": True},
                                       batch_size=4, bptt=8)
        lm, vocab = pair
        model = lt.Model.create(ctx, vocab, embedding_dim=12, hidden_size=16, dropout=0.0)
        report = model.pretrain(lm, max_steps=steps, **kw)
        return model, pair, report

    def test_end_to_end_pretrain_finetune_evaluate_predict_save_load(self):
        path = os.path.join(self.dir, "model.safetensors")
        with lt.Context(threads=1, seed=3) as ctx:
            seen = []
            model, pair, rep = self._pretrained(
                ctx, steps=8, progress_every=2,
                progress=lambda p: seen.append((p.phase, p.step, p.loss)) and False)
            self.assertEqual(rep["steps"], 8)
            self.assertTrue(math.isfinite(rep["train_loss"]))
            self.assertTrue(seen and all(ph == 1 for ph, _, _ in seen))
            self.assertTrue(math.isfinite(model.lm_score("free money now")))
            with pair:
                with lt.Loader.labeled(ctx, model.vocab, self.train, batch_size=8) as train:
                    labels = train.labels
                    self.assertEqual(labels, ["ham", "spam"])
                    with lt.Loader.labeled(ctx, model.vocab, self.valid, labels=labels,
                                           shuffle=False) as valid:
                        rep = model.finetune(train, valid, epochs=2, strategy="full",
                                             lr=1e-2, metric="accuracy")
                        self.assertGreaterEqual(rep["epochs"], 1)
                        self.assertEqual(model.labels, ["ham", "spam"])
                        m = model.evaluate(valid)
            self.assertEqual(m["count"], 20)
            for key in ("loss", "accuracy", "macro_f1"):
                self.assertTrue(0 <= m[key] < 10, key)
            conf = m["confusion"]
            total = sum(sum(int(v) for v in row) for row in conf)
            self.assertEqual(total, 20)
            self.assertAlmostEqual(
                m["accuracy"], sum(int(conf[i][i]) for i in range(2)) / 20.0, places=6)

            p1 = model.predict_text("free money offer click now")
            self.assertEqual(len(p1), 2)
            self.assertAlmostEqual(float(sum(p1)), 1.0, places=5)
            ids = model.vocab.encode("free money offer click now")
            p2 = model.predict_ids(ids)
            self.assertEqual([float(x) for x in p1], [float(x) for x in p2])
            if np is not None:
                self.assertIsInstance(p1, np.ndarray)
                self.assertEqual(p1.dtype, np.float32)

            model.save(path)
            with lt.Model.load(ctx, path) as again:
                self.assertEqual(again.labels, ["ham", "spam"])
                self.assertEqual(again.num_params, model.num_params)
                for text in ("free money offer click now", "team meeting report thanks",
                             "unknownword"):
                    self.assertEqual([float(x) for x in model.predict_text(text)],
                                     [float(x) for x in again.predict_text(text)])
            with lt.Model.load(ctx, path, backbone_only=True) as backbone:
                self.assertEqual(backbone.num_classes, 0)
            model.close()
            self.assertEqual(ctx.live_objects, 0)

    def test_multilabel_sets_in_per_label_probabilities_out(self):
        rng = random.Random(9)
        path = os.path.join(self.dir, "multi.tsv")
        with open(path, "w") as f:
            for _ in range(120):
                labels = [t for t in ("ham", "spam") if rng.random() < 0.5]
                words = [w for t in labels for w in rng.sample(HAM if t == "ham" else SPAM, 3)]
                rng.shuffle(words)
                f.write(",".join(labels) + "\t" + (" ".join(words) or "the") + "\n")
        with lt.Context(threads=1, seed=2) as ctx:
            with lt.Vocab.build(ctx, [self.corpus], max_size=64) as vocab:
                with lt.Loader.multilabel(ctx, vocab, path, batch_size=8) as data:
                    self.assertTrue(data.is_multilabel)
                    self.assertEqual(data.labels, ["ham", "spam"])
                    with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=12) as model:
                        model.finetune(data, epochs=6, lr=2e-2)
                        self.assertTrue(model.is_multilabel)
                        m = model.evaluate(data)
                        conf = m["confusion"]
                        self.assertEqual(len(conf), 2)
                        for k in range(2):  # each label's 2 x 2 counts cover every text
                            self.assertEqual(sum(int(v) for row in conf[k] for v in row), 120)
                        self.assertGreater(m["accuracy"], 0.8)
                        p = model.predict_text("free money cash meeting report team")
                        self.assertEqual(len(p), 2)
                        self.assertTrue(p[0] > 0.5 and p[1] > 0.5, p)  # both, not a softmax

    def test_failing_calls_raise_with_the_message(self):
        with lt.Context(threads=1) as ctx:
            missing = os.path.join(self.dir, "no-such-model.safetensors")
            with self.assertRaises(lt.TransferError) as cm:
                lt.Model.load(ctx, missing)
            self.assertIn(cm.exception.name, ("ENOTFOUND", "EIO"))
            self.assertIn("no-such-model", str(cm.exception))
            with lt.Vocab.build(ctx, [self.corpus], max_size=32) as vocab:
                with self.assertRaises(lt.TransferError) as cm:
                    lt.Loader.labeled(ctx, vocab, self.bad)
                self.assertEqual(cm.exception.name, "EFORMAT")
                self.assertIn("bad.tsv:2", str(cm.exception))
                with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=8) as model:
                    with self.assertRaises(lt.TransferError) as cm:
                        model.predict_text("not fine-tuned yet")
                    self.assertEqual(cm.exception.name, "ESTATE")
                with self.assertRaises(lt.TransferError) as cm:
                    lt.Model.create(ctx, vocab, hidden_size=0)
                self.assertEqual(cm.exception.name, "EINVAL")
                with self.assertRaises(TypeError):
                    lt.Model.create(ctx, vocab, hiden_size=8)
                with self.assertRaises(ValueError):
                    lt.Loader.lm(ctx, vocab, [self.corpus], split="test")

    def test_cancel_from_the_progress_callback(self):
        with lt.Context(threads=1, seed=4) as ctx:
            calls = []

            def stop_at_4(p):
                calls.append(p.step)
                return p.step >= 4

            model, pair, _ = self._pretrained(ctx, steps=2)
            with pair:
                lm = pair[0]
                with self.assertRaises(lt.TransferError) as cm:
                    model.pretrain(lm, max_steps=20, progress_every=1, progress=stop_at_4)
                self.assertEqual(cm.exception.name, "ECANCELED")
                self.assertEqual(calls[-1], 4)
                # An exception inside the callback stops training and comes out unchanged.
                with self.assertRaises(KeyError):
                    model.pretrain(lm, max_steps=20, progress_every=1,
                                   progress=lambda p: {}["boom"])
            # The model is still usable.
            self.assertTrue(math.isfinite(model.lm_score("free money now")))


if __name__ == "__main__":
    unittest.main()
