"""Small real datasets (as (X, y, from_memory options)) and bundles of one network trained on
them without a search, for the export, predict and compatibility tests and bench/export.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

from automl.data import from_memory
from tests.support import formats


def cancer():
    frame = load_breast_cancer(as_frame=True).frame.sample(200, random_state=0)
    return frame.drop(columns=["target"]), frame["target"].to_numpy(), {}


def diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X.iloc[:200], y.to_numpy()[:200], {}


def digits(labelled: bool):
    digits = load_digits()
    return digits.images[:240], digits.target[:240] if labelled else None, {}


def text():
    docs, labels = formats.documents(80, seed=3)
    return docs, np.asarray(labels), {}


def series():  # variable lengths: the predictor pads a batch to its longest series
    series, labels = formats.labelled_series(60, seed=2)
    return series, labels, {"modality": "series"}


def forecast():
    t = np.arange(200)
    values = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.3 * np.random.default_rng(0).normal(size=200)
    return values, None, {"horizon": 4}


def quick_bundle(dataset, directory: Path, family: str | None = None, changes=None) -> Path:
    """A bundle of one network trained for two epochs without a search (the data path and
    the export are what is tested): the task's first family with its defaults, or `family`
    with `changes` ({parameter: value}, without the family's prefix) over them."""
    from automl.bundle import save_bundle
    from automl.ensemble import Ensemble
    from automl.prepare import prepare_data
    from automl.search_spaces import get_family
    from automl.task import detect_task
    from automl.trainer import TrainingConfig, train_model

    prepared = prepare_data(dataset, detect_task(dataset), seed=0)
    task = prepared.task
    spec = get_family(family or task.families[0])
    params = {"family": spec.name, **spec.defaults(task)}
    params.update({f"{spec.name}.{key}": value for key, value in (changes or {}).items()})
    model = spec.build(params, task)
    config = TrainingConfig.from_params(params, max_epochs=2, patience=2)
    train_model(model, task, *prepared.data.tensors(task), config, seed=0)
    members = [{"trial": 0, "family": spec.name, "params": params}]
    extra = {"source": dataset.source, "target_name": dataset.target_name}
    ensemble = Ensemble([model], task.is_classification)
    return save_bundle(directory, ensemble, members, task, prepared.preprocessing, extra)


def trained_bundle(directory: Path, family: str, changes: dict, data) -> tuple[Path, object]:
    """A bundle of one network trained for two epochs; the raw inputs to predict on."""
    X, y, options = data()
    dataset = from_memory(X, y, **options)
    bundle = quick_bundle(dataset, directory, family, changes)
    return bundle, X[-60:] if "horizon" in options else X[:50]
