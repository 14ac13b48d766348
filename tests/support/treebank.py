"""The generated sentiment treebank of examples/make_treebank.py (negation, intensifiers,
contrast), importable by tests and benchmarks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("make_treebank", ROOT / "examples/make_treebank.py")
make_treebank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_treebank)

write_treebank = make_treebank.write_treebank
BUNDLED = ROOT / "examples" / "sentiment"
