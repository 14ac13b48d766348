"""Bundles written by earlier versions of automl (tests/fixtures/bundles, made by
tests/fixtures/make_bundles.py) still load and give the predictions they gave then."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "bundles").iterdir())


def inputs_of(expected: dict) -> object:
    """The inputs as they were given when the bundle was written (0.1.0 kept no kind: a
    table's columns or an array)."""
    inputs = expected.pop("inputs")
    kind = expected.pop("inputs_kind", "table" if isinstance(inputs, dict) else "array")
    if kind == "table":
        return pd.DataFrame(inputs)
    if kind == "series_list":
        return [np.asarray(s, dtype=np.float32) for s in inputs]
    if kind == "texts":
        return list(inputs)
    return np.asarray(inputs)


def test_fixtures_include_an_older_version():
    versions = {path.name.split("-")[0] for path in FIXTURES}
    assert any(version != automl.__version__ for version in versions), versions


@pytest.mark.parametrize("bundle", FIXTURES, ids=[path.name for path in FIXTURES])
def test_older_bundle_loads_and_predicts_as_it_did(bundle: Path):
    config = json.loads((bundle / "bundle.json").read_text())
    assert config["versions"]["automl"] == bundle.name.split("-")[0]  # the version is recorded
    expected = json.loads((bundle / "expected.json").read_text())
    X = inputs_of(expected)
    predictor = automl.load(bundle)
    for method, values in expected.items():
        np.testing.assert_allclose(
            getattr(predictor, method)(X), np.asarray(values), rtol=1e-5, atol=1e-6, err_msg=method
        )
