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


def test_fixtures_include_an_older_version():
    versions = {path.name.split("-")[0] for path in FIXTURES}
    assert any(version != automl.__version__ for version in versions), versions


@pytest.mark.parametrize("bundle", FIXTURES, ids=[path.name for path in FIXTURES])
def test_older_bundle_loads_and_predicts_as_it_did(bundle: Path):
    config = json.loads((bundle / "bundle.json").read_text())
    assert config["versions"]["automl"] == bundle.name.split("-")[0]  # the version is recorded
    expected = json.loads((bundle / "expected.json").read_text())
    inputs = expected.pop("inputs")
    X = pd.DataFrame(inputs) if isinstance(inputs, dict) else np.asarray(inputs)
    predictor = automl.load(bundle)
    for method, values in expected.items():
        np.testing.assert_allclose(
            getattr(predictor, method)(X), np.asarray(values), rtol=1e-5, atol=1e-6, err_msg=method
        )
