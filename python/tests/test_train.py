# SPDX-License-Identifier: MIT
"""Tests of the training bindings: vocabularies, loaders, pre-training, fine-tuning, evaluation,
prediction, checkpoints, errors and cancelling. Tiny data and a few steps: a few seconds."""
import ctypes
import json
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


class DataDirTest(unittest.TestCase):
    """A temporary directory for the files a test class writes, removed after the class."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="tf_py_")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)


class TrainTest(DataDirTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
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

    def test_distill_student_predicts_as_the_teacher(self):
        """Model.distill: a smaller student learns a fine-tuned teacher's decisions from the
        corpus's unlabelled sentences; mismatches are errors with the library's message."""
        with lt.Context(threads=1, seed=6) as ctx:
            with lt.Vocab.build(ctx, [self.corpus], max_size=64) as vocab:
                with lt.Loader.labeled(ctx, vocab, self.train, batch_size=8) as train, \
                        lt.Loader.labeled(ctx, vocab, self.valid, labels=train.labels,
                                          shuffle=False) as valid:
                    teacher = lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=16)
                    teacher.finetune(train, valid, epochs=4)
                    with open(self.corpus) as f:
                        texts = [vocab.encode(line) for line in f.read().splitlines()]
                    with lt.Loader.tokens(ctx, texts, batch_size=8) as unlabeled:
                        student = lt.Model.create(ctx, teacher.vocab, embedding_dim=8,
                                                  hidden_size=4)
                        seen = []
                        rep = student.distill(teacher, unlabeled, train, valid, epochs=3,
                                              temperature=2.0, alpha=0.3,
                                              progress=lambda p: seen.append(p.phase) and False)
                        self.assertEqual(rep["epochs"], 3)
                        self.assertTrue(seen and set(seen) == {3})
                        self.assertEqual(student.labels, teacher.labels)
                        self.assertLess(student.num_params, teacher.num_params / 2)
                        acc_t = teacher.evaluate(valid)["accuracy"]
                        acc_s = student.evaluate(valid)["accuracy"]
                        self.assertGreaterEqual(acc_t, 0.9)
                        self.assertGreaterEqual(acc_s, acc_t - 0.1)
                        rep = student.distill(teacher, unlabeled, max_steps=7)
                        self.assertEqual(rep["steps"], 7)
                        with self.assertRaises(ValueError) as e:
                            student.distill(teacher, unlabeled, max_steps=-1)
                        self.assertIn("max_steps", str(e.exception))
                        with self.assertRaises(lt.TransferError) as e:
                            student.distill(teacher, unlabeled, temperature=0.0)
                        self.assertIn("temperature", str(e.exception))
                        with lt.Vocab.build(ctx, [self.train], max_size=64) as other:
                            with lt.Model.create(ctx, other, hidden_size=4) as stranger:
                                with self.assertRaises(ValueError) as e:
                                    stranger.distill(teacher, unlabeled)
                                self.assertIn("vocabulary", str(e.exception))
                        with self.assertRaises(TypeError):
                            student.distill(teacher, unlabeled, temprature=2.0)
                        student.close()
                    teacher.close()

    def test_export_loads_predicts_and_refuses_training(self):
        """Model.export: smaller files that Model.load reads; predictions within the rounding of
        each dtype; training refused with the library's status (RuntimeError)."""
        full = os.path.join(self.dir, "full.safetensors")
        with lt.Context(threads=1, seed=5) as ctx:
            with lt.Vocab.build(ctx, [self.corpus], max_size=64) as vocab:
                with lt.Loader.labeled(ctx, vocab, self.train, batch_size=8) as data:
                    with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=12) as model:
                        model.finetune(data, epochs=2)
                        model.save(full)
                        want = [float(x) for x in model.predict_text("free money meeting")]
                        sizes = {}
                        for dtype, tol in (("f32", 0.0), ("f16", 1e-3), ("int8", 2e-2)):
                            path = os.path.join(self.dir, dtype + ".safetensors")
                            model.export(path, dtype=dtype, min_elements=1)
                            sizes[dtype] = os.path.getsize(path)
                            with lt.Model.load(ctx, path) as m:
                                got = [float(x) for x in m.predict_text("free money meeting")]
                                self.assertLessEqual(max(abs(a - b) for a, b in zip(want, got)),
                                                     tol)
                                with self.assertRaises(RuntimeError) as cm:
                                    m.finetune(data, epochs=1)
                                self.assertEqual(cm.exception.name, "ESTATE")
                                self.assertIn("inference export", str(cm.exception))
                        with self.assertRaises(ValueError):
                            model.export(path, dtype="int4")
        self.assertLess(sizes["int8"], sizes["f16"])
        self.assertLess(sizes["f16"], sizes["f32"])
        self.assertLess(sizes["f32"], os.path.getsize(full))

    def test_finetune_optimizer_options(self):
        """optim={} spells out the default optimizer (same weights, so the same predictions);
        another beta2 trains other weights."""
        probs = []
        for optim in (None, {}, {"beta2": 0.999}):
            with lt.Context(threads=1, seed=4) as ctx:
                with lt.Vocab.build(ctx, [self.corpus], max_size=64) as vocab:
                    with lt.Loader.labeled(ctx, vocab, self.train, batch_size=8) as data:
                        with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=12) as model:
                            model.finetune(data, epochs=2, calibrate=False, optim=optim)
                            probs.append(list(model.predict_text("free money meeting report")))
        self.assertEqual(probs[0], probs[1])
        self.assertNotEqual(probs[0], probs[2])
        with lt.Context(threads=1) as ctx:
            with lt.Vocab.build(ctx, [self.corpus], max_size=64) as vocab:
                with lt.Loader.labeled(ctx, vocab, self.train, batch_size=8) as data:
                    with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=12) as model:
                        with self.assertRaises(TypeError):
                            model.finetune(data, epochs=1, optim={"betta2": 0.9})

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

    def test_gru_model_pretrains_finetunes_and_round_trips(self):
        path = os.path.join(self.dir, "gru.safetensors")
        with lt.Context(threads=1, seed=5) as ctx:
            pair = lt.Loader.lm_with_vocab(ctx, [self.corpus], vocab_options={"max_size": 64},
                                           batch_size=4, bptt=8)
            with pair:
                lm, vocab = pair
                with lt.Model.create(ctx, vocab, embedding_dim=12, hidden_size=16,
                                     cell="gru") as gru, \
                        lt.Model.create(ctx, vocab, embedding_dim=12, hidden_size=16) as lstm:
                    # Per layer and direction, 3H gate rows for a GRU against 4H for an LSTM.
                    self.assertEqual(lstm.num_params - gru.num_params,
                                     16 * (12 + 16) + 2 * 16)
                    gru.pretrain(lm, max_steps=3)
                    with lt.Loader.labeled(ctx, gru.vocab, self.train, batch_size=8) as train:
                        gru.finetune(train, epochs=1, strategy="gradual")
                    gru.save(path)
                    with lt.Model.load(ctx, path) as again:
                        self.assertEqual(again.num_params, gru.num_params)
                        text = "free money offer click now"
                        self.assertEqual([float(x) for x in gru.predict_text(text)],
                                         [float(x) for x in again.predict_text(text)])
            with open(path, "rb") as fh:
                header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
            self.assertIn("gru.weight_ih_l0", header)
            self.assertEqual(json.loads(header["__metadata__"]["libtransfer.config"])["cell"], "gru")

    def test_adaptive_softmax_model(self):
        path = os.path.join(self.dir, "adaptive.safetensors")
        with lt.Context(threads=1, seed=5) as ctx:
            pair = lt.Loader.lm_with_vocab(ctx, [self.corpus], vocab_options={"max_size": 64},
                                           batch_size=4, bptt=8)
            with pair:
                lm, vocab = pair
                with lt.Model.create(ctx, vocab, embedding_dim=12, hidden_size=16,
                                     softmax="adaptive", cutoffs=[6, 12]) as model:
                    model.pretrain(lm, max_steps=3)
                    model.save(path)
                    with lt.Model.load(ctx, path) as again:
                        self.assertEqual(again.num_params, model.num_params)
                with self.assertRaises(ValueError):
                    lt.Model.create(ctx, vocab, softmax="fast")
                with self.assertRaises(lt.TransferError) as cm:
                    lt.Model.create(ctx, vocab, softmax="adaptive", cutoffs=[12, 6])
                self.assertEqual(cm.exception.name, "EINVAL")
            with open(path, "rb") as fh:
                header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
            self.assertIn("lm_head.tail.1.1.weight", header)
            config = json.loads(header["__metadata__"]["libtransfer.config"])
            self.assertEqual((config["softmax"], config["cutoffs"]), ("adaptive", [6, 12]))

    def test_options_structs_match_the_library(self):
        """Each ctypes struct has the size the library's init writes for the version the
        bindings pass, and the documented defaults where they are read."""
        from libtransfer import core, train
        cases = [(core._CtxOpts, "tf_ctx_opts_init", 1),
                 (train._VocabOpts, "tf_vocab_opts_init", train._VOCAB_OPTS_V),
                 (train._LoaderOpts, "tf_loader_opts_init", train._LOADER_OPTS_V),
                 (train._ModelOpts, "tf_model_opts_init", train._MODEL_OPTS_V),
                 (train._OptimOpts, "tf_optimizer_opts_init", train._OPTIM_OPTS_V),
                 (train._PretrainOpts, "tf_pretrain_opts_init", train._PRETRAIN_OPTS_V),
                 (train._FinetuneOpts, "tf_finetune_opts_init", train._FINETUNE_OPTS_V),
                 (train._AdaptOpts, "tf_adapt_opts_init", train._ADAPT_OPTS_V),
                 (train._ExplainOpts, "tf_explain_opts_init", train._EXPLAIN_OPTS_V),
                 (train._ExplainResult, "tf_explain_result_init", train._EXPLAIN_RESULT_V),
                 (train._Report, "tf_train_report_init", train._REPORT_V),
                 (train._Metrics, "tf_metrics_init", train._METRICS_V)]
        for struct, init, version in cases:
            with self.subTest(init=init):
                opts = struct()
                getattr(lt.lib, init)(ctypes.byref(opts), version)
                self.assertEqual(opts.version, version)
                self.assertEqual(opts.struct_size, ctypes.sizeof(struct))
        ft = train._FinetuneOpts()
        lt.lib.tf_finetune_opts_init(ctypes.byref(ft), train._FINETUNE_OPTS_V)
        self.assertEqual((ft.class_weight, ft.calibrate, ft.num_class_weights), (1, 1, 0))
        self.assertFalse(ft.class_weights)
        ad = train._AdaptOpts()
        lt.lib.tf_adapt_opts_init(ctypes.byref(ad), train._ADAPT_OPTS_V)
        self.assertEqual((ad.max_iter, ad.tol, ad.min_prior), (1000, 1e-6, 1e-4))

    def test_loader_counts_labels_and_unknown_tokens(self):
        path = os.path.join(self.dir, "unknown.tsv")
        with open(path, "w") as f:  # one word of three is not in the corpus
            for i in range(12):
                f.write(f"{'spam' if i % 4 == 0 else 'ham'}\tmeeting zzqx{i} report\n")
        with lt.Context(threads=1) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            with lt.Loader.labeled(ctx, vocab, self.train) as train:
                self.assertEqual(train.label_counts(), {"ham": 40, "spam": 20})
                self.assertEqual((train.num_tokens, train.unknown_tokens), (600, 0))
                self.assertEqual(train.unknown_rate, 0.0)
            with lt.Loader.labeled(ctx, vocab, path, labels=["spam", "ham"]) as data:
                self.assertEqual(data.label_counts(), {"spam": 3, "ham": 9})
                self.assertEqual((data.num_tokens, data.unknown_tokens), (36, 12))
                self.assertAlmostEqual(data.unknown_rate, 1 / 3, places=12)
        # Subwords spell the new words with pieces: more tokens, none unknown.
        with lt.Context(threads=1) as ctx, lt.Vocab.build(ctx, [self.corpus], kind="bpe",
                                                           max_size=300) as vocab:
            self.assertEqual(len(vocab), 300)
            with lt.Loader.labeled(ctx, vocab, path, labels=["spam", "ham"]) as data:
                self.assertGreater(data.num_tokens, 36)
                self.assertEqual(data.unknown_tokens, 0)
            seqs = [[4, 5, 6], [7], [5, 5]]
            with lt.Loader.tokens(ctx, seqs, targets=[2, 0, 2], labels=["a", "b", "c"],
                                  batch_size=2) as data:
                self.assertEqual(data.num_sequences, 3)
                self.assertEqual(data.label_counts(), {"a": 1, "b": 0, "c": 2})
                self.assertEqual(data.num_tokens, 0)  # ids, not text
                self.assertTrue(math.isnan(data.unknown_rate))
            with lt.Loader.tokens(ctx, seqs) as data:
                self.assertEqual(data.labels, [])
                with self.assertRaises(lt.TransferError) as cm:
                    data.label_counts()
                self.assertEqual(cm.exception.name, "EINVAL")
            with self.assertRaises(ValueError):
                lt.Loader.tokens(ctx, seqs, targets=[0, 0, 0])
            with self.assertRaises(ValueError):
                lt.Loader.tokens(ctx, seqs, targets=[0, 0], labels=["a"])
            for bad in ([[4, 5], []], [[4, -1]], []):
                with self.assertRaises(lt.TransferError) as cm:
                    lt.Loader.tokens(ctx, bad)
                self.assertEqual(cm.exception.name, "EINVAL")

    def test_extend_vocab_then_pretrain_on_new_text(self):
        new = os.path.join(self.dir, "new.txt")
        with open(new, "w") as f:
            for i in range(60):
                f.write("invoice shipment " * (1 + i % 2) + "team report .\n")
        with lt.Context(threads=1, seed=4) as ctx:
            model, pair, _ = self._pretrained(ctx)
            with pair:
                size = len(model.vocab)
                self.assertEqual(model.vocab.lookup("invoice"), -1)
                with self.assertRaises(lt.TransferError) as cm:
                    model.extend_vocab([new], max_size=size - 1)
                self.assertEqual(cm.exception.name, "EINVAL")
                self.assertEqual(model.extend_vocab([new], min_count=2), 2)
                self.assertEqual(len(model.vocab), size + 2)
                # "shipment" 90 times, "invoice" 90 times: ties in byte order
                self.assertEqual(model.vocab.lookup("invoice"), size)
                self.assertEqual(model.vocab.lookup("shipment"), size + 1)
                before = model.lm_score("invoice shipment team report .")
                with lt.Loader.lm(ctx, model.vocab, [new], batch_size=4, bptt=8) as lm:
                    model.pretrain(lm, max_steps=30)
                self.assertLess(model.lm_score("invoice shipment team report ."), before)
            model.close()
            self.assertEqual(ctx.live_objects, 0)

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
                    lt.Model.create(ctx, vocab, cell="rnn")
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


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests",
                        "reference", "fixtures")


class ImportTest(DataDirTest):
    """Model.import_torch on the PyTorch fixture of tests/reference/gen_torch_import_fixtures.py
    (its probabilities are in torch_import_expect.tfx; here the probe [4, 9, 17, 33, 5]), and
    Model.init_embeddings."""

    def test_import_torch_predicts_as_pytorch(self):
        with lt.Context(threads=1) as ctx:
            vocab = lt.Vocab.load(ctx, os.path.join(FIXTURES, "torch_import_vocab.txt"))
            model = lt.Model.import_torch(ctx, os.path.join(FIXTURES, "torch_import_cls.safetensors"),
                                          vocab, labels=["neg", "neu", "pos"], embedding_dim=8,
                                          hidden_size=12, num_layers=2)
            ids = [4, 9, 17, 33, 5]
            got = list(model.predict_ids(ids))
            want = [0.3658482649893275, 0.3013082786767796, 0.33284345633389306]  # probs.0
            for a, b in zip(got, want):
                self.assertAlmostEqual(a, b, delta=1e-5)
            path = os.path.join(self.dir, "imported.safetensors")
            model.save(path)
            again = lt.Model.load(ctx, path)
            self.assertEqual(list(again.predict_ids(ids)), got)
            with self.assertRaises(ValueError) as e:
                lt.Model.import_torch(ctx, os.path.join(FIXTURES, "torch_import_cls.safetensors"),
                                      vocab, labels=["neg", "neu", "pos"], embedding_dim=8,
                                      hidden_size=10, num_layers=2)
            self.assertIn("lstm.weight_ih_l0", str(e.exception))
            with self.assertRaises(FileNotFoundError):
                lt.Model.import_torch(ctx, os.path.join(self.dir, "none.safetensors"), vocab,
                                      embedding_dim=8, hidden_size=12, num_layers=2)

    def test_explain_matches_pytorch_integrated_gradients(self):
        """Model.explain and Model.explain_features on the models of
        tests/reference/gen_explain_fixtures.py give PyTorch's attributions (its
        explain_expect.tfx: cls3 probe 0, num probe 1, Gauss-Legendre)."""
        with lt.Context(threads=1) as ctx:
            vocab = lt.Vocab.load(ctx, os.path.join(FIXTURES, "torch_import_vocab.txt"))
            model = lt.Model.import_torch(ctx, os.path.join(FIXTURES, "explain_cls3.safetensors"),
                                          vocab, labels=["a", "b", "c"], embedding_dim=8,
                                          hidden_size=12, num_layers=2)
            got = model.explain("w4 w9 w17 w33 w5", steps=16, target="a")
            want = [-0.08378173562479832, -0.06656149995029423, -0.022611855767410493,
                    0.006652950969606351, -0.054616508826907814]
            self.assertEqual(got["tokens"], ["w4", "w9", "w17", "w33", "w5"])
            self.assertEqual(got["ids"], [4, 9, 17, 33, 5])
            for a, b in zip(got["attributions"], want):
                self.assertAlmostEqual(float(a), b, delta=2e-5)
            self.assertEqual(got["target"], "a")
            self.assertAlmostEqual(got["f_input"], 0.5519098639421882, delta=1e-5)
            self.assertAlmostEqual(got["f_baseline"], 0.7730692193827408, delta=1e-5)
            self.assertAlmostEqual(got["sum"], sum(want), delta=1e-4)
            probs = list(model.predict_text("w4 w9 w17 w33 w5"))
            self.assertEqual(got["predicted"], ["a", "b", "c"][probs.index(max(probs))])
            self.assertAlmostEqual(model.explain("w4 w9", target=1)["f_input"],
                                   float(model.predict_text("w4 w9")[1]), delta=1e-5)
            with self.assertRaises(ValueError):
                model.explain("w4 w9", target="zz")
            with self.assertRaises(ValueError):
                model.explain("w4 w9", target=3)
            with self.assertRaises(ValueError):
                model.explain("w4 w9", steps=0)
            with self.assertRaises(ValueError):
                model.explain("   ")
            with self.assertRaises(TypeError):
                model.explain("w4", stepz=3)
            num = lt.Model.import_torch(ctx, os.path.join(FIXTURES, "explain_num.safetensors"),
                                        None, labels=["a", "b", "c", "d"], input="features",
                                        num_features=3, embedding_dim=5, hidden_size=7,
                                        pooling=3)
            x = [[1.0, 0.26749882102012634, -0.8568887710571289],
                 [-0.7259323000907898, 0.46851667761802673, 0.9765876531600952],
                 [0.05395542085170746, -0.9477216005325317, -0.5609842538833618]]
            got = num.explain_features(x, steps=12, target=1)
            flat = [float(v) for row in got["attributions"] for v in row] \
                if not isinstance(got["attributions"][0], float) else got["attributions"]
            want = [-0.020572982562472447, -0.000492914975350362, 0.02309501820944807,
                    8.938329824123896e-06, 0.0003080582324136187, -0.003346579679674884,
                    0.0011960979087107214, -0.013483284506449584, -0.03431951143894018]
            for a, b in zip(flat, want):
                self.assertAlmostEqual(a, b, delta=2e-5)
            self.assertAlmostEqual(got["f_input"], 0.38411209673907887, delta=1e-5)
            self.assertAlmostEqual(got["f_baseline"], 0.4317192572215699, delta=1e-5)
            with self.assertRaises(ValueError):
                num.explain_features(x, baseline="unk")

    def test_init_embeddings_counts_found_words(self):
        with lt.Context(threads=1) as ctx:
            corpus = os.path.join(self.dir, "c.txt")
            with open(corpus, "w") as f:
                f.write("the cat sat\nthe dog sat\n")
            vocab = lt.Vocab.build(ctx, [corpus])
            model = lt.Model.create(ctx, vocab, embedding_dim=2, hidden_size=3)
            vec = os.path.join(self.dir, "w.vec")
            with open(vec, "w") as f:
                f.write("3 2\ncat 1 2\nzebra 3 4\ndog 5 6\n")
            self.assertEqual(model.init_embeddings(vec), 2)
            with open(vec, "w") as f:
                f.write("cat 1 2 3\n")
            with self.assertRaises(ValueError):
                model.init_embeddings(vec)


if __name__ == "__main__":
    unittest.main()
