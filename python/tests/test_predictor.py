# SPDX-License-Identifier: MIT
"""Tests of Predictor: PyTorch's probabilities for the imported classifier
(tests/reference/gen_torch_import_fixtures.py) and numeric sequences
(gen_explain_fixtures.py), texts, ids and features in input order, multi-label sets against
their thresholds, Python threads
sharing one predictor in parallel (the GIL released in the C call) with identical results, and
the OpenBLAS thread count of a numpy host left as the host set it."""
import ctypes
import ctypes.util
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libtransfer as lt  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "reference",
                   "fixtures")


def _import_cls(ctx):
    vocab = lt.Vocab.load(ctx, os.path.join(FIX, "torch_import_vocab.txt"))
    return lt.Model.import_torch(ctx, os.path.join(FIX, "torch_import_cls.safetensors"), vocab,
                                 labels=["neg", "neu", "pos"], embedding_dim=8, hidden_size=12,
                                 num_layers=2)


def _seqs(n, seed=3):
    s, out = seed, []
    for _ in range(n):
        s = (s * 1103515245 + 12345) % 2**31
        length = 1 + s % 25
        seq = []
        for _ in range(length):
            s = (s * 1103515245 + 12345) % 2**31
            seq.append(4 + s % 46)  # words, no specials
        out.append(seq)
    return out


class PredictorTest(unittest.TestCase):

    def setUp(self):
        self.ctx = lt.Context(threads=1, seed=1)
        self.model = _import_cls(self.ctx)

    def tearDown(self):
        self.ctx.close()

    def test_int8_weights(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "m8.safetensors")
            self.model.export(path, dtype="int8", min_elements=1)
            seqs = _seqs(11)
            deq = lt.Predictor.load(self.ctx, path, int8="dequantize").predict_ids(seqs)
            res = lt.Predictor.load(self.ctx, path, int8="resident")
            # before any call, so no workspace counts
            self.assertLess(res.resident_bytes,
                            lt.Predictor.load(self.ctx, path, int8="dequantize").resident_bytes)
            got = res.predict_ids(seqs)
            for i in range(len(seqs)):
                for c in range(3):
                    # to rounding, or the activations' 8-bit quantisation with integer products
                    self.assertAlmostEqual(float(got[i][c]), float(deq[i][c]), delta=1e-2)
        with self.assertRaises(ValueError):
            lt.Predictor.from_model(self.model, int8="int4")

    def test_matches_the_model_and_keeps_input_order(self):
        p = lt.Predictor.from_model(self.model, max_batch=4)
        seqs = _seqs(23)
        got = p.predict_ids(seqs)
        self.assertEqual(p.num_classes, 3)
        for i, seq in enumerate(seqs):
            want = self.model.predict_ids(seq)
            for c in range(3):
                self.assertAlmostEqual(float(got[i][c]), float(want[c]), delta=1e-6)
        # texts through the vocabulary give the same as their ids
        vocab = self.model.vocab
        texts = [" ".join(vocab.token(t) for t in seq) for seq in seqs]
        by_text = p.predict(texts)
        for i in range(len(seqs)):
            self.assertEqual(list(by_text[i]), list(got[i]))
        ids, scores = p.top_k(got, 2)
        for i in range(len(seqs)):
            order = sorted(range(3), key=lambda c: (-float(got[i][c]), c))[:2]
            self.assertEqual(list(ids[i]), order)
            self.assertEqual(float(scores[i][0]), float(got[i][order[0]]))
        with self.assertRaises(ValueError):
            p.predict(["w4", ""])  # a text without tokens
        with self.assertRaises(ValueError):
            p.top_k(got, 4)

    @unittest.skipIf(np is None, "needs numpy")
    def test_numpy_shape(self):
        p = lt.Predictor.from_model(self.model)
        out = p.predict(["w4 w5 w6", "w7"])
        self.assertEqual(out.shape, (2, 3))
        self.assertEqual(out.dtype, np.float32)
        self.assertTrue(np.allclose(out.sum(axis=1), 1.0, atol=1e-5))
        self.assertGreater(p.resident_bytes, 0)

    def test_threads_share_one_predictor(self):
        p = lt.Predictor.from_model(self.model, num_threads=1)
        self.model.close()  # the predictor holds its own copy
        seqs = _seqs(3000)
        one = p.predict_ids(seqs)
        results, errors = [None] * 4, []

        def work(i):
            try:
                results[i] = p.predict_ids(seqs)
            except Exception as e:  # surfaced below
                errors.append(e)
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for r in results:
            self.assertEqual([list(map(float, row)) for row in r], [list(map(float, row)) for row in one])

    def test_gil_released_during_prediction(self):
        # With a switch interval of minutes, this thread gets the GIL only when the predicting
        # thread gives it up: inside the C call if ctypes releases it there, else only when
        # that thread has finished (and `done` is set, so nothing is counted).
        p = lt.Predictor.from_model(self.model, num_threads=1)
        seqs = _seqs(30000)
        started, done = threading.Event(), threading.Event()
        counted = 0

        def work():
            started.set()
            try:
                p.predict_ids(seqs)
            finally:
                done.set()
        old = sys.getswitchinterval()
        sys.setswitchinterval(100.0)
        try:
            t = threading.Thread(target=work)
            t.start()
            started.wait()
            while not done.is_set():
                counted += 1
                time.sleep(0)  # lets the predicting thread back in when its call returns
            t.join()
        finally:
            sys.setswitchinterval(old)
        self.assertGreater(counted, 10)

    def test_label_sets_of_a_multilabel_predictor(self):
        ml = lt.Model.import_torch(self.ctx, os.path.join(FIX, "torch_import_cls.safetensors"),
                                   lt.Vocab.load(self.ctx, os.path.join(FIX, "torch_import_vocab.txt")),
                                   labels=["neg", "neu", "pos"], multi_label=True,
                                   embedding_dim=8, hidden_size=12, num_layers=2)
        p = lt.Predictor.from_model(ml)
        self.assertTrue(p.is_multilabel)
        self.assertEqual(p.num_features, 0)
        seqs = _seqs(40)
        probs = p.predict_ids(seqs)
        thresholds = [0.3, 0.5, 0.7]
        sets = p.label_sets(probs, thresholds)
        default = p.label_sets(probs)
        one = p.label_sets(probs, 0.45)
        seen = set()
        for i in range(len(seqs)):
            for c in range(3):
                v = float(probs[i][c])
                self.assertEqual(bool(sets[i][c]), v >= thresholds[c])
                self.assertEqual(bool(default[i][c]), v >= 0.5)
                self.assertEqual(bool(one[i][c]), v >= 0.45)
                seen.add(bool(sets[i][c]))
        self.assertEqual(seen, {False, True})  # the probes fall on both sides
        # hand-made rows: a probability equal to its threshold is in the set
        rows = [[0.3, 0.49, 0.7], [0.29, 0.5, 0.71]]
        got = [[bool(v) for v in row] for row in p.label_sets(rows, thresholds)]
        self.assertEqual(got, [[True, False, True], [False, True, True]])
        with self.assertRaises(ValueError):
            p.label_sets(probs, [0.5, 0.5])  # one threshold per label
        with self.assertRaises(ValueError):
            p.label_sets(probs, [0.5, 1.5, 0.5])
        with self.assertRaises(ValueError):
            p.label_sets(probs, [0.5, float("nan"), 0.5])
        with self.assertRaises(RuntimeError):  # single-label: top_k is its decision
            lt.Predictor.from_model(self.model).label_sets(probs)

    def test_features_match_pytorch_and_keep_input_order(self):
        # tests/reference/gen_explain_fixtures.py: PyTorch gives class 1 of x 0.38411209673907887
        num = lt.Model.import_torch(self.ctx, os.path.join(FIX, "explain_num.safetensors"), None,
                                    labels=["a", "b", "c", "d"], input="features", num_features=3,
                                    embedding_dim=5, hidden_size=7, pooling=3)
        x = [[1.0, 0.26749882102012634, -0.8568887710571289],
             [-0.7259323000907898, 0.46851667761802673, 0.9765876531600952],
             [0.05395542085170746, -0.9477216005325317, -0.5609842538833618]]
        p = lt.Predictor.from_model(num, max_batch=2)
        self.assertEqual(p.num_features, 3)
        self.assertEqual(p.num_classes, 4)
        seqs = [x, x[:1], x[1:] + x, x[2:]]
        got = p.predict_features(seqs)
        self.assertAlmostEqual(float(got[0][1]), 0.38411209673907887, delta=1e-5)
        for i, seq in enumerate(seqs):
            self.assertAlmostEqual(sum(float(v) for v in got[i]), 1.0, delta=1e-5)
            alone = p.predict_features([seq])
            for c in range(4):
                self.assertAlmostEqual(float(got[i][c]), float(alone[0][c]), delta=1e-6)
        self.assertNotAlmostEqual(float(got[1][1]), float(got[0][1]), delta=1e-4)
        if np is not None:
            arr = p.predict_features([np.array(x, dtype=np.float64)])
            self.assertEqual(arr.shape, (1, 4))
            self.assertAlmostEqual(float(arr[0][1]), 0.38411209673907887, delta=1e-5)
        with self.assertRaises(ValueError):
            p.predict_features([[[1.0, 2.0]]])  # two values a step for three features
        with self.assertRaises(ValueError):
            p.predict_features([[[1.0, float("inf"), 0.0]]])
        with self.assertRaises(ValueError):
            p.predict_features([[]])  # no steps
        with self.assertRaises(RuntimeError):  # a token predictor
            lt.Predictor.from_model(self.model).predict_features([x])
        with self.assertRaises(RuntimeError):  # and the other way round
            p.predict_ids([[4, 5]])


def _openblas():
    """The OpenBLAS that numpy and libtransfer share, or None."""
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_num_threads.restype = ctypes.c_int
            return lib
        except (OSError, AttributeError):
            continue
    return None


@unittest.skipIf(np is None, "needs numpy (the host whose BLAS threads must stay as set)")
class OpenBlasThreadsTest(unittest.TestCase):

    def test_host_thread_count_survives_calls(self):
        blas = _openblas()
        if blas is None:
            self.skipTest("no OpenBLAS in this process")
        a = np.ones((64, 64))
        _ = a @ a  # numpy's BLAS is loaded and used
        before = blas.openblas_get_num_threads()
        blas.openblas_set_num_threads(2)
        try:
            with lt.Context(threads=1, seed=1) as ctx:
                model = _import_cls(ctx)
                model.predict_ids([4, 5, 6])
                p = lt.Predictor.from_model(model)
                p.predict(["w4 w5 w6"] * 70)
                self.assertEqual(blas.openblas_get_num_threads(), 2)
        finally:
            blas.openblas_set_num_threads(before)


if __name__ == "__main__":
    unittest.main()
