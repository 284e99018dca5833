# SPDX-License-Identifier: MIT
"""Tests of the ctypes bindings: context, tensors, errors. Run: python3 -m unittest discover."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import libtransfer as lt  # noqa: E402


class CoreTest(unittest.TestCase):
    def test_version_matches_library(self):
        self.assertRegex(lt.version(), r"^\d+\.\d+\.\d+$")

    def test_context_properties_and_close(self):
        with lt.Context(threads=1, seed=99) as ctx:
            self.assertEqual(ctx.threads, 1)
            self.assertEqual(ctx.seed, 99)
            self.assertEqual(ctx.live_objects, 0)
            t = lt.Tensor(ctx, (2, 3))
            self.assertEqual(ctx.live_objects, 1)
            t.close()
            self.assertEqual(ctx.live_objects, 0)
        with self.assertRaises(ValueError):
            ctx.handle

    def test_bad_options_raise_with_message(self):
        with self.assertRaises(lt.TransferError) as cm:
            lt.Context(threads=-1)
        self.assertEqual(cm.exception.name, "EINVAL")
        self.assertIn("num_threads", str(cm.exception))

    def test_tensor_roundtrip_lists(self):
        with lt.Context() as ctx:
            t = lt.Tensor.from_array(ctx, [[1, 2, 3], [4, 5, 6]])
            self.assertEqual(t.dtype, lt.I32)
            self.assertEqual(t.shape, (2, 3))
            self.assertEqual(t.to_list(), [[1, 2, 3], [4, 5, 6]])
            t.fill(7)
            self.assertEqual(t.to_list()[1][2], 7)

    def test_tensor_errors(self):
        with lt.Context() as ctx:
            with self.assertRaises(lt.TransferError) as cm:
                lt.Tensor(ctx, (0, 3))
            self.assertEqual(cm.exception.name, "ESHAPE")
            t = lt.Tensor(ctx, (2,), lt.I32)
            with self.assertRaises(lt.TransferError) as cm:
                t.fill(0.5)
            self.assertEqual(cm.exception.name, "EINVAL")

    def test_numpy_in_and_out(self):
        try:
            import numpy as np
        except ImportError:
            self.skipTest("numpy not installed")
        with lt.Context() as ctx:
            a = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
            t = lt.Tensor.from_array(ctx, a)
            self.assertEqual(t.dtype, lt.F32)
            np.testing.assert_array_equal(t.numpy(), a)


if __name__ == "__main__":
    unittest.main()
