from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from automl.data import from_memory
from automl.errors import DataError
from automl.preprocessing import Preprocessing, TablePreprocessor
from automl.task import detect_task


def test_table_preprocessing_imputes_scales_and_one_hot_encodes(breast_cancer_frame):
    frame, y = breast_cancer_frame
    dataset = from_memory(frame, y)
    task = detect_task(dataset)
    rows = np.arange(400)
    pre = Preprocessing.fit(dataset, task, rows)
    X = pre.transform(dataset.X)
    # 30 numeric + 1 missing indicator + site one-hot (3 values + other)
    assert X.shape == (569, 30 + 1 + 4) == (569, *pre.input_shape())
    assert np.isfinite(X).all()
    assert abs(X[rows, 0].mean()) < 1e-5


def test_unseen_categories_and_missing_columns_at_predict_time():
    pre = TablePreprocessor.fit(pd.DataFrame({"n": [1.0, 2.0, 3.0], "c": ["a", "b", "a"]}))
    X = pre.transform(pd.DataFrame({"n": [None], "c": ["zebra"]}))
    assert X.tolist() == [[0.0, 0.0, 0.0, 1.0]]  # median -> 0 after scaling; 'zebra' -> other
    with pytest.raises(DataError, match="lacks 1 column.*: c;"):
        pre.transform(pd.DataFrame({"n": [1.0]}))


def test_preprocessing_survives_json(digits_images):
    images, labels = digits_images
    dataset = from_memory(images[:100], labels[:100])
    task = detect_task(dataset)
    pre = Preprocessing.fit(dataset, task, np.arange(80))
    again = Preprocessing.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert np.array_equal(again.transform(dataset.X), pre.transform(dataset.X))
    assert pre.transform(dataset.X).shape == (100, 1, 8, 8)
    encoded = again.target.encode(labels[:100])
    assert again.target.decode(np.eye(10)[encoded]).tolist() == labels[:100].tolist()


def test_dates_booleans_categories_and_infinities():
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2020-01-01", "2021-06-01", None, "2022-01-01"]),
            "x": [1.0, np.inf, 3.0, -np.inf],
            "flag": [True, False, True, True],
            "kind": pd.Categorical(["u", "v", "u", "v"]),
        }
    )
    pre = TablePreprocessor.fit(frame)
    X = pre.transform(frame)
    assert np.isfinite(X).all()
    assert set(pre.numeric) == {"when", "x"} and set(pre.missing_indicators) == {"when", "x"}
    # three distinct dates (the missing one takes the median), not one "other" slot
    assert len(np.unique(X[:, 0])) == 3
    again = pre.transform(frame.iloc[[1]])
    assert np.array_equal(again, X[[1]])
