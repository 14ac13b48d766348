"""The real datasets of shared/datasets.md, written in their natural formats by
bench/datasets.py, are detected right by `automl detect` with no flags but --horizon.

A dataset whose source package is not installed is skipped with the install command; CI
installs them all and sets AUTOML_REQUIRE_DATASETS=1, which turns a skip into a failure.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
from pathlib import Path

import pytest

from automl import cli

ROOT = Path(__file__).resolve().parent.parent
SOURCES = Path(os.environ.get("AUTOML_DATASET_SOURCES", ROOT / ".ci" / "sources"))

# name, path written (relative), extra flags, modality, row, target kind, evidence phrase
EXPECTED = [
    ("digits", "digits", [], "image", "image_recognition", "multiclass", "1 797 PNG files in 10"),
    ("breast_cancer", "breast_cancer.csv", [], "table", "classification", "binary", "569 rows"),
    ("diabetes", "diabetes.parquet", [], "table", "regression", "regression", "442 rows"),
    ("fashion_mnist", "fashion_mnist", [], "image", "image_recognition", "multiclass", "as given"),
    ("GunPoint", "GunPoint", [], "series", "time_series", "binary", "200 series, length 150"),
    ("BasicMotions", "BasicMotions", [], "series", "time_series", "multiclass", "6 features"),
    ("JapaneseVowels", "JapaneseVowels", [], "series", "time_series", "multiclass", "lengths 7-29"),
    ("lynx", "lynx.csv", ["--horizon", "1"], "series", "time_series", "forecasting", "114 steps"),
    ("sunspots", "sunspots.csv", ["--horizon", "1"], "series", "time_series", "forecasting", ""),
    ("reuters", "reuters", [], "text", "text_processing", "binary", "70 TXT files in 2 class"),
    ("spoken_words", "spoken_words", [], "audio", "speech_recognition", "multiclass", "WAV"),
]


def _writers():
    spec = importlib.util.spec_from_file_location("bench_datasets", ROOT / "bench" / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._writers(argparse.Namespace(wheels=SOURCES, deb_dir=SOURCES, limit=30))


@pytest.mark.parametrize(("name", "path", "flags", "modality", "row", "kind", "evidence"), EXPECTED)
def test_real_dataset_is_detected(
    capsys, tmp_path_factory, name, path, flags, modality, row, kind, evidence
):
    out = tmp_path_factory.mktemp(name)
    try:
        _writers()[name](out)
    except RuntimeError as exc:
        if os.environ.get("AUTOML_REQUIRE_DATASETS") == "1":
            pytest.fail(f"{name}: source missing in CI: {exc}")
        pytest.skip(f"{name}: {exc}")
    code = cli.main(["detect", str(out / path), "--json", *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    info = json.loads(captured.out)
    assert (info["modality"], info["row"], info["target_kind"]) == (modality, row, kind)
    assert evidence in info["evidence"], info["evidence"]
