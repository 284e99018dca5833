#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The python snippets of a documentation page run as written: every ```python block, in order,
in one fresh working directory. The snippets assert their own results.

usage: run_snippets.py DOC WORKDIR MIN_BLOCKS [--require MODULE]... [--path DIR]...
                       [--link NAME=TARGET]...
--require: exit 77 (CTest: skipped) when MODULE cannot be imported.
--path: DIR is put first on the PATH.  --link: WORKDIR/NAME is a symbolic link to TARGET.
Set PYTHONPATH and LIBTRANSFER_PATH in the environment for snippets that import libtransfer.
"""
import argparse
import importlib
import os
import re
import shutil
import sys

ap = argparse.ArgumentParser()
ap.add_argument("doc")
ap.add_argument("work")
ap.add_argument("min_blocks", type=int)
ap.add_argument("--require", action="append", default=[])
ap.add_argument("--path", action="append", default=[])
ap.add_argument("--link", action="append", default=[])
args = ap.parse_args()

for module in args.require:
    try:
        importlib.import_module(module)
    except ImportError as e:  # reported as skipped, never as passed
        print(f"skipped: {e}")
        sys.exit(77)

doc, work = os.path.abspath(args.doc), os.path.abspath(args.work)
blocks = re.findall(r"^```python\n(.*?)^```$", open(doc).read(), re.S | re.M)
if len(blocks) < args.min_blocks:
    print(f"FAIL: {doc} has {len(blocks)} python blocks, expected at least {args.min_blocks}")
    sys.exit(1)
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
for link in args.link:
    name, target = link.split("=", 1)
    os.makedirs(os.path.dirname(os.path.join(work, name)) or work, exist_ok=True)
    os.symlink(os.path.abspath(target), os.path.join(work, name))
os.chdir(work)
for d in args.path:
    os.environ["PATH"] = os.path.abspath(d) + os.pathsep + os.environ["PATH"]
for i, code in enumerate(blocks):
    exec(compile(code, f"{doc} block {i + 1}", "exec"), {"__name__": "__main__"})
print(f"{len(blocks)} snippets of {os.path.basename(doc)} ran")
