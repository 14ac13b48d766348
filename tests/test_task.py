from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

from automl.data import from_memory
from automl.errors import ConfigError, DataError
from automl.task import detect_task


def test_images_are_image_recognition_searched_with_cnn_and_dbn(digits_images):
    images, labels = digits_images
    info = detect_task(from_memory(images[:200], labels[:200]))
    assert (info.row, info.target_kind, info.n_classes) == ("image_recognition", "multiclass", 10)
    assert info.families == ("cnn", "dbn")
    assert info.unavailable_families == ()
    assert "image recognition -> cnn, dbn" in info.reason


def test_table_with_classes_is_classification_with_mlp_and_dbn(breast_cancer_frame):
    frame, y = breast_cancer_frame
    info = detect_task(from_memory(frame, y))
    assert (info.row, info.target_kind) == ("classification", "binary")
    assert info.families == ("mlp", "dbn")
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
        ConfigError,
        match="Unknown model family 'transformer'; available: autoencoder, cnn, conv1d, dbn, fasttext, mlp",
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


def test_integer_labels_stay_classes_for_images_and_well_populated_tables():
    rng = np.random.default_rng(0)
    faces = rng.random((400, 16, 16)).astype(np.float32)  # shaped like Olivetti: 40 x 10 photos
    people = np.repeat(np.arange(40), 10)
    image_info = detect_task(from_memory(faces, people))
    assert (image_info.target_kind, image_info.n_classes) == ("multiclass", 40)
    table_info = detect_task(from_memory(faces.reshape(400, -1), people))
    assert (table_info.target_kind, table_info.n_classes) == ("multiclass", 40)


def test_infinite_targets_are_an_error():
    with pytest.raises(DataError, match="infinite"):
        detect_task(from_memory(np.zeros((20, 2)), [1.0, np.inf] * 10))
