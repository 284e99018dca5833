# SPDX-License-Identifier: MIT
"""Tests of what makes the bindings a Python package: the version, exceptions that are also the
built-in ones that fit, objects freed when collected, and their repr."""
import errno
import gc
import os
import re
import sys
import unittest
import weakref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libtransfer as lt  # noqa: E402
from test_train import DataDirTest  # noqa: E402

TOP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SPAM = os.path.join(TOP, "examples", "data", "spam")


class VersionTest(unittest.TestCase):
    def test_version_is_the_cmake_project_version(self):
        with open(os.path.join(TOP, "CMakeLists.txt"), encoding="utf-8") as f:
            want = re.search(r"project\(libtransfer VERSION (\d+\.\d+\.\d+)", f.read()).group(1)
        self.assertEqual(lt.__version__, want)
        self.assertEqual(lt.version(), want)

    def test_package_is_typed(self):
        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(lt.__file__), "py.typed")))


class ErrorTest(DataDirTest):
    def assert_missing_file(self, cm, path):
        e = cm.exception
        self.assertIsInstance(e, lt.TransferError)
        self.assertIsInstance(e, FileNotFoundError)
        self.assertIn(e.status, (6, 15))  # EIO from text readers, ENOTFOUND from checkpoints
        self.assertEqual(e.filename, path)
        self.assertEqual(e.errno, errno.ENOENT)
        self.assertIn(path, str(e))

    def test_missing_files_raise_file_not_found(self):
        missing = os.path.join(self.dir, "no-such-file")
        with lt.Context() as ctx:
            with self.assertRaises(FileNotFoundError) as cm:
                lt.Model.load(ctx, missing)
            self.assert_missing_file(cm, missing)
            with self.assertRaises(FileNotFoundError) as cm:
                lt.Vocab.load(ctx, missing)
            self.assert_missing_file(cm, missing)
            with self.assertRaises(FileNotFoundError) as cm:  # the second of two files
                lt.Vocab.build(ctx, [os.path.join(SPAM, "valid.tsv"), missing])
            self.assert_missing_file(cm, missing)
            vocab = lt.Vocab.build(ctx, os.path.join(SPAM, "valid.tsv"), max_size=200)
            with self.assertRaises(FileNotFoundError) as cm:
                lt.Loader.labeled(ctx, vocab, missing)
            self.assert_missing_file(cm, missing)
            with self.assertRaises(FileNotFoundError) as cm:
                lt.Loader.lm(ctx, vocab, [missing])
            self.assert_missing_file(cm, missing)

    def test_unreadable_path_is_an_os_error_not_file_not_found(self):
        with lt.Context() as ctx:
            with self.assertRaises(lt.TransferError) as cm:
                lt.Vocab.load(ctx, self.dir)  # a directory exists but is no vocabulary file
            self.assertNotIsInstance(cm.exception, FileNotFoundError)

    def test_bad_argument_and_format_raise_value_error(self):
        with lt.Context() as ctx:
            with self.assertRaises(ValueError) as cm:
                lt.Context(threads=-1)
            self.assertIsInstance(cm.exception, lt.TransferError)
            self.assertEqual((cm.exception.status, cm.exception.name), (1, "EINVAL"))
            garbage = os.path.join(self.dir, "garbage.safetensors")
            with open(garbage, "wb") as f:
                f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
            with self.assertRaises(ValueError) as cm:
                lt.Model.load(ctx, garbage)
            self.assertIsInstance(cm.exception, lt.TransferError)
            self.assertEqual(cm.exception.name, "EFORMAT")
            with self.assertRaises(ValueError) as cm:  # found by the bindings, same kind
                lt.Model.create(ctx, None, cell="transformer")
            self.assertIsInstance(cm.exception, lt.TransferError)
            self.assertEqual(cm.exception.status, 1)

    def test_out_of_memory_raises_memory_error(self):
        with lt.Context() as ctx:
            with self.assertRaises(MemoryError) as cm:
                lt.Tensor(ctx, (1 << 36, 1 << 4))  # 4 TiB of floats
            self.assertIsInstance(cm.exception, lt.TransferError)
            self.assertEqual((cm.exception.status, cm.exception.name), (2, "ENOMEM"))

    def test_every_status_has_a_fitting_builtin_class(self):
        want = {1: ValueError, 2: MemoryError, 3: ValueError, 4: ValueError, 5: ValueError,
                6: OSError, 7: ValueError, 8: ValueError, 9: RuntimeError,
                10: NotImplementedError, 13: RuntimeError, 14: ValueError, 15: LookupError,
                16: ArithmeticError}
        for status, base in want.items():
            e = lt._lib.error(status, "message")
            self.assertIsInstance(e, lt.TransferError, status)
            self.assertIsInstance(e, base, status)
            self.assertEqual(e.status, status)
        self.assertIs(type(lt._lib.error(11, "stopped")), lt.TransferError)

    def test_closed_objects_raise_value_error(self):
        ctx = lt.Context()
        t = lt.Tensor(ctx, (2,))
        ctx.close()
        for obj in (ctx, t):
            with self.assertRaises(ValueError) as cm:
                obj.handle
            self.assertIsInstance(cm.exception, lt.TransferError)
        self.assertIn("closed", repr(t))
        self.assertIn("closed", repr(ctx))


class LifetimeTest(DataDirTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = os.path.join(cls.dir, "m.safetensors")
        with lt.Context(seed=1) as ctx:
            vocab = lt.Vocab.build(ctx, os.path.join(SPAM, "valid.tsv"), max_size=300)
            lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=16).save(cls.model)

    def test_loads_and_deletes_free_every_handle(self):
        with lt.Context() as ctx:
            before = (ctx.live_objects, ctx.allocated_bytes)
            m = lt.Model.load(ctx, self.model)
            self.assertGreater(ctx.live_objects, before[0])
            self.assertGreater(ctx.allocated_bytes, before[1])
            del m
            for _ in range(20):
                m = lt.Model.load(ctx, self.model)
                m.vocab  # a private copy owned by the model
                del m
            gc.collect()
            self.assertEqual((ctx.live_objects, ctx.allocated_bytes), before)

    def test_objects_in_a_cycle_are_freed_by_the_collector(self):
        with lt.Context() as ctx:
            m = lt.Model.load(ctx, self.model)
            m.cycle = m
            del m
            gc.collect()
            self.assertEqual(ctx.live_objects, 0)

    def test_with_block_and_close_free_at_once(self):
        with lt.Context() as ctx:
            with lt.Model.load(ctx, self.model) as m:
                self.assertGreater(ctx.live_objects, 0)
            self.assertEqual(ctx.live_objects, 0)
            self.assertTrue(m.closed)
            m.close()  # again is harmless
            t = lt.Tensor(ctx, (3,))
            t.close()
            self.assertEqual(ctx.live_objects, 0)

    def test_context_is_collected_after_its_objects(self):
        ctx = lt.Context()
        t = lt.Tensor(ctx, (4,))
        ref = weakref.ref(ctx)
        del ctx
        gc.collect()
        self.assertIsNotNone(ref())  # the tensor keeps its context alive
        self.assertEqual(t.shape, (4,))
        del t
        gc.collect()
        self.assertIsNone(ref())

    def test_closing_the_context_closes_its_objects(self):
        ctx = lt.Context()
        m = lt.Model.load(ctx, self.model)
        ctx.close()
        self.assertTrue(m.closed)
        with self.assertRaises(ValueError):
            m.num_classes


class ReprTest(unittest.TestCase):
    def test_reprs_describe_the_objects(self):
        with lt.Context(threads=1, seed=5) as ctx:
            self.assertEqual(repr(ctx), "<libtransfer.Context threads=1 seed=5 live_objects=0>")
            vocab = lt.Vocab.build(ctx, os.path.join(SPAM, "valid.tsv"), max_size=300)
            self.assertEqual(repr(vocab), "<libtransfer.Vocab kind=word size=300>")
            m = lt.Model.create(ctx, vocab, embedding_dim=8, hidden_size=16, num_layers=2,
                                bidirectional=True, cell="gru")
            self.assertEqual(repr(m), "<libtransfer.Model cell=gru input_size=8 hidden_size=16 "
                                      "num_layers=2 bidirectional vocab=300 labels=[]>")
            data = lt.Loader.labeled(ctx, vocab, os.path.join(SPAM, "valid.tsv"), batch_size=32)
            self.assertEqual(repr(data), "<libtransfer.Loader sequences=490 batches=16 "
                                         "labels=['ham', 'spam']>")
            self.assertEqual(repr(lt.Tensor(ctx, (2, 3), lt.I32)),
                             "<libtransfer.Tensor shape=(2, 3) dtype=I32>")


if __name__ == "__main__":
    unittest.main()
