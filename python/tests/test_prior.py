# SPDX-License-Identifier: MIT
"""Tests of decisions under a new class prior through the bindings: class weights, calibration,
the EM prior estimate from unlabelled texts, given priors, checkpoints and argument errors.
Fine-tuning on tiny data written here: well under a second each."""
import os
import random
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libtransfer as lt  # noqa: E402
from test_train import HAM, SPAM, DataDirTest  # noqa: E402

# The training data have one spam for two ham; the later texts four spam for one ham.
TRAIN_SPAM, SHIFTED_SPAM = 1 / 3, 0.8
PROBES = ["free money meeting offer report", "team lunch code review", "cash now click win",
          "kernel patch deal thanks", "prize project credit schedule"]


def _text(rng, label):
    """Eight words, each from the label's own list with probability 0.85: texts the model
    separates well without certainty, so the probabilities carry the prior."""
    own, other = (SPAM, HAM) if label == "spam" else (HAM, SPAM)
    return " ".join(rng.choice(own if rng.random() < 0.85 else other) for _ in range(8))


def _bayes(p, target, model):
    """Probabilities p made for the prior `model` moved to the prior `target` (Bayes' rule)."""
    w = [float(pi) * t / m for pi, t, m in zip(p, target, model)]
    return [x / sum(w) for x in w]


class PriorTest(DataDirTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rng = random.Random(11)
        cls.corpus = os.path.join(cls.dir, "corpus.txt")
        with open(cls.corpus, "w") as f:
            f.write(" ".join(HAM + SPAM) + "\n")
        cls.train = os.path.join(cls.dir, "train.tsv")
        cls.valid = os.path.join(cls.dir, "valid.tsv")
        for path, n in ((cls.train, 90), (cls.valid, 30)):
            with open(path, "w") as f:
                for i in range(n):
                    label = "spam" if i % 3 == 0 else "ham"
                    f.write(f"{label}\t{_text(rng, label)}\n")
        labels = ["spam" if rng.random() < SHIFTED_SPAM else "ham" for _ in range(300)]
        cls.shifted_rate = labels.count("spam") / len(labels)
        cls.shifted_texts = [_text(rng, label) for label in labels]
        cls.shifted = os.path.join(cls.dir, "shifted.txt")
        with open(cls.shifted, "w") as f:  # a blank line and CRLF ends are read as the library would
            f.write("\r\n".join(cls.shifted_texts[:150] + [""] + cls.shifted_texts[150:]) + "\r\n")

    def _finetuned(self, ctx, vocab, with_valid=True, **options):
        model = lt.Model.create(ctx, vocab, embedding_dim=12, hidden_size=16, dropout=0.0)
        with lt.Loader.labeled(ctx, vocab, self.train, batch_size=8) as train:
            self.assertEqual(train.label_counts(), {"ham": 60, "spam": 30})
            with lt.Loader.labeled(ctx, vocab, self.valid, labels=train.labels,
                                   shuffle=False) as valid:
                model.finetune(train, valid if with_valid else None, epochs=8, lr=1e-2,
                               **options)
        return model

    def _valid(self, ctx, model):
        return lt.Loader.labeled(ctx, model.vocab, self.valid, labels=model.labels, shuffle=False)

    def _assert_prior(self, prior, expected, places=12):
        self.assertEqual(list(prior), list(expected))
        for label in expected:
            self.assertAlmostEqual(prior[label], expected[label], places=places, msg=label)

    def test_class_weights_set_the_model_prior(self):
        train_prior = {"ham": 1 - TRAIN_SPAM, "spam": TRAIN_SPAM}
        cases = [("none", train_prior),
                 ("balanced", {"ham": 0.5, "spam": 0.5}),
                 ({"spam": 2.0}, {"ham": 0.5, "spam": 0.5}),             # ham weighs 1
                 ({"spam": 4.0, "ham": 1.0}, {"ham": 1 / 3, "spam": 2 / 3})]
        with lt.Context(threads=1, seed=3) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            for weight, model_prior in cases:
                with self.subTest(class_weight=weight):
                    with self._finetuned(ctx, vocab, class_weight=weight) as model:
                        self.assertEqual(model.labels, ["ham", "spam"])
                        self._assert_prior(model.prior("train"), train_prior)
                        self._assert_prior(model.prior("model"), model_prior)
                        self._assert_prior(model.prior(), model_prior)  # target until set

    def test_multilabel_weights_and_priors_are_per_label_rates(self):
        rng = random.Random(4)
        path = os.path.join(self.dir, "multi.tsv")
        sets = [[t for t in ("ham", "spam") if rng.random() < (0.5 if t == "ham" else 0.2)]
                for _ in range(120)]
        with open(path, "w") as f:
            for labels in sets:
                words = [w for t in labels for w in rng.sample(HAM if t == "ham" else SPAM, 3)]
                f.write(",".join(labels) + "\t" + (" ".join(words) or "the") + "\n")
        pos = {t: sum(t in labels for labels in sets) for t in ("ham", "spam")}
        with lt.Context(threads=1, seed=2) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            with lt.Loader.multilabel(ctx, vocab, path, batch_size=8) as data, \
                 lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=12) as model:
                self.assertEqual(data.label_counts(), pos)
                model.finetune(data, epochs=2, class_weight={"spam": 3.0})
                self._assert_prior(model.prior("train"), {t: pos[t] / 120 for t in pos})
                # Positives of spam weigh 3: the loss sees 3 n_pos against n_neg.
                spam = 3 * pos["spam"] / (3 * pos["spam"] + 120 - pos["spam"])
                self._assert_prior(model.prior("model"), {"ham": pos["ham"] / 120,
                                                          "spam": spam})
                model.set_prior({"ham": 0.3, "spam": 0.9})  # each label's own rate
                self._assert_prior(model.prior(), {"ham": 0.3, "spam": 0.9})

    def test_adapt_prior_moves_towards_the_new_balance_and_decides_by_bayes(self):
        with lt.Context(threads=1, seed=3) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            with self._finetuned(ctx, vocab) as model:
                model_prior = model.prior("model")
                before = [model.predict_text(t) for t in PROBES]
                result = model.adapt_prior(self.shifted)
                self.assertGreaterEqual(result["iterations"], 1)
                spam = result["prior"]["spam"]
                self.assertGreater(spam, 0.6)  # from 1/3 towards the true rate
                self.assertLess(abs(spam - self.shifted_rate), 0.15)
                self._assert_prior(model.prior("target"), result["prior"])
                self._assert_prior(model.prior("model"), model_prior)

                target = list(result["prior"].values())
                moved = 0.0
                for text, p in zip(PROBES, before):
                    got = model.predict_text(text)
                    want = _bayes(p, target, list(model_prior.values()))
                    for g, w in zip(got, want):
                        self.assertAlmostEqual(float(g), w, places=5, msg=text)
                    moved = max(moved, abs(float(got[1]) - float(p[1])))
                self.assertGreater(moved, 0.05)

                # The same texts as a list or a loader give the same estimate.
                model.set_prior(None)
                self.assertEqual(model.adapt_prior(self.shifted_texts), result)
                model.set_prior(None)
                ids = [model.vocab.encode(t) for t in self.shifted_texts]
                with lt.Loader.tokens(ctx, ids, batch_size=32) as data:
                    # Other batches: float32 logits of other products (AVX2 kernels round them
                    # differently by batch shape), sums in another order.
                    again = model.adapt_prior(data)
                    self.assertEqual(again["iterations"], result["iterations"])
                    self._assert_prior(again["prior"], result["prior"], places=7)
                    self.assertEqual(data.num_sequences, 300)  # still open: the caller's

                model.set_prior(None)
                self._assert_prior(model.prior(), model_prior)
                for text, p in zip(PROBES, before):
                    self.assertEqual([float(x) for x in model.predict_text(text)],
                                     [float(x) for x in p])

    def test_given_prior_calibration_and_checkpoint(self):
        path = os.path.join(self.dir, "adapted.safetensors")
        with lt.Context(threads=1, seed=5) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            with self._finetuned(ctx, vocab, with_valid=False) as model:
                self.assertEqual(model.temperature, 1.0)  # nothing to calibrate on
                before = [model.predict_text(t) for t in PROBES]
                with self._valid(ctx, model) as valid:
                    t = model.calibrate(valid)
                self.assertEqual(model.temperature, t)
                self.assertTrue(0.05 <= t <= 20 and t != 1.0, t)
                for text, p in zip(PROBES, before):  # calibration keeps the decisions
                    q = model.predict_text(text)
                    self.assertEqual(q[1] > q[0], p[1] > p[0], text)

                calibrated = [model.predict_text(t) for t in PROBES]
                model.set_prior({"spam": 0.8, "ham": 0.2})
                self._assert_prior(model.prior(), {"ham": 0.2, "spam": 0.8})
                model_prior = list(model.prior("model").values())
                for text, p in zip(PROBES, calibrated):
                    want = _bayes(p, [0.2, 0.8], model_prior)
                    for g, w in zip(model.predict_text(text), want):
                        self.assertAlmostEqual(float(g), w, places=5, msg=text)

                model.save(path)
                with lt.Model.load(ctx, path) as again:
                    self.assertEqual(again.temperature, t)
                    self._assert_prior(again.prior(), {"ham": 0.2, "spam": 0.8})
                    for text in PROBES:
                        self.assertEqual([float(x) for x in again.predict_text(text)],
                                         [float(x) for x in model.predict_text(text)])
                    again.set_prior(None)
                    for text, p in zip(PROBES, calibrated):
                        self.assertEqual([float(x) for x in again.predict_text(text)],
                                         [float(x) for x in p])

    def test_bad_arguments_raise_with_clear_messages(self):
        with lt.Context(threads=1, seed=3) as ctx, lt.Vocab.build(ctx, [self.corpus]) as vocab:
            with lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=8) as fresh:
                for call in (lambda: fresh.prior(), lambda: fresh.set_prior({"ham": 1.0}),
                             lambda: fresh.adapt_prior(self.shifted_texts)):
                    with self.assertRaises(lt.TransferError) as cm:
                        call()
                    self.assertEqual(cm.exception.name, "ESTATE")
            with self.assertRaises(ValueError) as cm:
                self._finetuned(ctx, vocab, class_weight={"spma": 2.0})
            self.assertIn("unknown label 'spma'", str(cm.exception))
            self.assertIn("'ham', 'spam'", str(cm.exception))
            with self.assertRaises(ValueError) as cm:
                self._finetuned(ctx, vocab, class_weight="heavy")
            self.assertIn("class_weight must be one of ['balanced', 'none']", str(cm.exception))
            with self.assertRaises(TypeError):
                self._finetuned(ctx, vocab, class_weight=[1.0, 2.0])
            with self.assertRaises(TypeError):
                self._finetuned(ctx, vocab, class_weights=[1.0, 2.0])
            with self.assertRaises(lt.TransferError) as cm:
                self._finetuned(ctx, vocab, class_weight={"spam": -1.0})
            self.assertEqual(cm.exception.name, "EINVAL")
            self.assertIn("class weight 1 (-1) must be finite and > 0", str(cm.exception))

            with self._finetuned(ctx, vocab) as model:
                with self.assertRaises(lt.TransferError) as cm:
                    model.set_prior({"ham": 0.5, "spam": 0.6})
                self.assertEqual(cm.exception.name, "EINVAL")
                self.assertIn("sum to 1.1", str(cm.exception))
                with self.assertRaises(lt.TransferError) as cm:
                    model.set_prior({"ham": 0.0, "spam": 1.0})
                self.assertIn("outside (0, 1)", str(cm.exception))
                with self.assertRaises(ValueError) as cm:
                    model.set_prior({"ham": 1.0})
                self.assertIn("no value for label 'spam'", str(cm.exception))
                with self.assertRaises(ValueError) as cm:
                    model.set_prior({"ham": 0.5, "spam": 0.5, "eggs": 0.0})
                self.assertIn("unknown label 'eggs'", str(cm.exception))
                with self.assertRaises(TypeError):
                    model.set_prior([0.5, 0.5])
                with self.assertRaises(ValueError) as cm:
                    model.prior("prior")
                self.assertIn("'model', 'target', 'train'", str(cm.exception))

                for texts in ([], ["", " \t "]):
                    with self.assertRaises(ValueError) as cm:
                        model.adapt_prior(texts)
                    self.assertIn("no text with a token", str(cm.exception))
                with self.assertRaises(FileNotFoundError):
                    model.adapt_prior(os.path.join(self.dir, "no-such.txt"))
                with self.assertRaises(lt.TransferError) as cm:
                    model.adapt_prior(self.shifted_texts, max_iter=0)
                self.assertEqual(cm.exception.name, "EINVAL")
                self.assertIn("max_iter (0)", str(cm.exception))
                with self.assertRaises(TypeError):
                    model.adapt_prior(self.shifted_texts, maxiter=3)
                self._assert_prior(model.prior(), model.prior("model"))  # nothing changed


if __name__ == "__main__":
    unittest.main()
