# SPDX-License-Identifier: MIT
"""Tests of Predictor: PyTorch's probabilities for the imported classifier
(tests/reference/gen_torch_import_fixtures.py), texts and ids in input order, Python threads
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
