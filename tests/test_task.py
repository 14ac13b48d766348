from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from automl.data import from_memory
from automl.errors import ConfigError, DataError
from automl.task import DECISION_TABLE, detect_task


def test_images_are_image_recognition_searched_with_cnn(digits_images):
    images, labels = digits_images
    info = detect_task(from_memory(images[:200], labels[:200]))
    assert (info.row, info.target_kind, info.n_classes) == ("image_recognition", "multiclass", 10)
    assert info.families == ("cnn",)
    assert info.unavailable_families == ("dbn",)
    assert "image recognition -> cnn" in info.reason


def test_table_with_classes_is_classification_with_mlp(breast_cancer_frame):
    frame, y = breast_cancer_frame
    info = detect_task(from_memory(frame, y))
    assert (info.row, info.target_kind, info.families) == ("classification", "binary", ("mlp",))
    assert info.class_counts == {"0": 212, "1": 357}


def test_whole_number_target_with_many_values_is_regression():
    X, y = load_diabetes(return_X_y=True, scaled=False)  # y: 214 distinct whole numbers
    info = detect_task(from_memory(X, y))
    assert (info.row, info.target_kind, info.n_classes) == ("regression", "regression", None)


def test_task_and_family_overrides_and_their_contradictions(digits_images):
    images, labels = digits_images
    dataset = from_memory(images[:200], labels[:200])
    assert detect_task(dataset, families=["mlp"]).families == ("mlp",)
    with pytest.raises(
        ConfigError, match="Unknown model family 'transformer'; available: cnn, mlp"
    ):
        detect_task(dataset, families=["transformer"])
    table = from_memory(pd.DataFrame({"a": np.arange(40.0)}), np.arange(40) % 2)
    with pytest.raises(ConfigError, match="cannot learn the row 'classification'"):
        detect_task(table, families=["cnn"])
    with pytest.raises(ConfigError, match="--task regression needs a numeric target"):
        detect_task(from_memory(images[:50], labels[:50].astype(str)), task="regression")
    assert detect_task(table, task="regression").row == "regression"


def test_single_class_and_rare_class_are_errors():
    X = np.random.default_rng(0).normal(size=(30, 3))
    with pytest.raises(DataError, match="single class"):
        detect_task(from_memory(X, ["a"] * 30))
    with pytest.raises(DataError, match="fewer than 2 examples"):
        detect_task(from_memory(X, ["a"] * 15 + ["b"] * 14 + ["c"]))


def test_every_row_names_families():
    assert all(row.families for row in DECISION_TABLE.values())
