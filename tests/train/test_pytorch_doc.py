#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The python snippets of docs/pytorch.md run as written: every ```python block, in order, in one
working directory, with tftrain on the PATH. The snippets assert their own results.

usage: test_pytorch_doc.py DOC TFTRAIN WORKDIR
Exits 77 (CTest: skipped) when torch or safetensors is not installed.
"""
import os
import re
import shutil
import sys

try:
    import torch  # noqa: F401
    import safetensors  # noqa: F401
except ImportError as e:  # reported as skipped, never as passed
    print(f"skipped: {e}")
    sys.exit(77)

doc, tftrain, work = (os.path.abspath(a) for a in sys.argv[1:4])
blocks = re.findall(r"^```python\n(.*?)^```$", open(doc).read(), re.S | re.M)
if len(blocks) < 2:
    print(f"FAIL: {doc} has {len(blocks)} python blocks, expected the import and export snippets")
    sys.exit(1)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
os.chdir(work)
os.environ["PATH"] = os.path.dirname(os.path.abspath(tftrain)) + os.pathsep + os.environ["PATH"]
for i, code in enumerate(blocks):
    exec(compile(code, f"{doc} block {i + 1}", "exec"), {"__name__": "__main__"})
print(f"{len(blocks)} snippets of {os.path.basename(doc)} ran")
