"""The first stage of a fit: detect the task, split the rows, fit the preprocessing.

The preprocessing is fitted on the training rows only; the validation rows are the given val/
split, or a stratified random fifth of train/ (the last fifth of the windows, in time order,
for a forecast). A given test/ split is kept apart and scored once by the finish.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from automl.data import Dataset
from automl.engine.settings import SearchData
from automl.errors import DataError
from automl.options import FitOptions
from automl.preprocessing import Preprocessing, forecast_window
from automl.task import detect_task
from automl.task_info import TaskInfo

VALIDATION_SHARE = 0.2


@dataclass
class PreparedData:
    task: TaskInfo  # with the model's input shape
    preprocessing: Preprocessing
    data: SearchData
    fingerprint: str
    test: tuple[np.ndarray, np.ndarray | None] | None = None  # rows of a given test/ split
    notes: list[str] = dataclasses.field(default_factory=list)
    # the dataset's row numbers of each part ("train", "val", "test"); none for a forecast,
    # whose parts are windows
    rows: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def prepare(dataset: Dataset, options: FitOptions, say: Callable[[str], None]) -> PreparedData:
    """Detect the task the options ask for, say what was found, and prepare the data."""
    task = detect_task(dataset, options.task, options.families, options.code_size)
    for note in dataset.notes:
        say(f"note: {note}")
    say(f"task: {task.reason}")
    prepared = prepare_data(dataset, task, options.seed)
    for note in prepared.notes:
        say(f"note: {note}")
    return prepared


def split_rows(dataset: Dataset, task: TaskInfo, seed: int) -> dict[str, np.ndarray]:
    """Row indices of the train, validation and (given) test parts.

    Given split folders are used as they are; without a val/ folder the validation rows come
    from train/. Otherwise the split is random, stratified by class for classification.
    """
    rows = np.arange(len(dataset))
    given = dataset.split if dataset.split is not None else np.full(len(rows), "train", object)
    parts = {name: rows[given == name] for name in ("train", "val", "test")}
    if len(parts["val"]):
        return parts
    train = parts["train"]
    labels = dataset.y[train] if dataset.y is not None and task.labelled else None
    n_val = max(int(round(VALIDATION_SHARE * len(train))), task.n_classes or 1)
    stratify = labels.astype(str) if task.is_classification else None
    if stratify is not None and min(collections.Counter(stratify).values()) < 2:
        stratify = None  # a class with one training example (the rest in a given test/)
    fit_rows, val_rows = train_test_split(
        train, test_size=n_val, random_state=seed, stratify=stratify
    )
    return {"train": np.sort(fit_rows), "val": np.sort(val_rows), "test": parts["test"]}


def data_fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:16]


def prepare_data(dataset: Dataset, task: TaskInfo, seed: int) -> PreparedData:
    """Split, fit the preprocessing on the training rows, transform every part."""
    if task.target_kind == "forecasting":
        return _prepare_forecast(dataset, task)
    parts = split_rows(dataset, task, seed)
    preprocessing = Preprocessing.fit(dataset, task, parts["train"])
    X = preprocessing.transform(dataset.X)
    y = preprocessing.target.encode(dataset.y) if task.labelled else None
    spread = value_range(X[parts["train"]])
    if spread is not None and spread[0] == spread[1]:
        raise DataError(
            f"All {len(parts['train'])} training samples are the same (every feature is "
            "constant, e.g. blank images); there is nothing to learn. Check the data."
        )
    notes = preprocessing.inputs.notes(dataset.X)

    def part(name: str) -> tuple[np.ndarray, np.ndarray | None]:
        rows = parts[name]
        return X[rows], None if y is None else y[rows]

    return PreparedData(
        task=task.with_inputs(preprocessing.input_shape(), preprocessing.vocab_size, spread),
        preprocessing=preprocessing,
        data=SearchData(*part("train"), *part("val")),
        fingerprint=data_fingerprint(X, *([] if y is None else [y])),
        test=part("test") if len(parts["test"]) else None,
        notes=notes,
        rows=parts,
    )


def value_range(X: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of real-valued model inputs, padding (NaN) left out; None for token ids."""
    if not np.issubdtype(X.dtype, np.floating) or not np.isfinite(X).any():
        return None
    return float(np.nanmin(X)), float(np.nanmax(X))


def _prepare_forecast(dataset: Dataset, task: TaskInfo) -> PreparedData:
    """Windows in time order: the last VALIDATION_SHARE of them validate, never shuffled.

    The scaler and window length are fitted on the training steps only, and the training
    windows stop `horizon - 1` steps early so no training target is also a validation target.
    """
    values = dataset.X[0]
    window = forecast_window(task.horizon, int((1 - VALIDATION_SHARE) * len(values)))
    n_windows = len(values) - window - task.horizon + 1
    n_val = max(1, int(round(VALIDATION_SHARE * n_windows)))
    n_fit = n_windows - n_val - (task.horizon - 1)
    if n_fit < 2:
        raise DataError(
            f"The series ({len(values)} steps) is too short to forecast {task.horizon} ahead "
            f"from windows of {window}; give a longer series."
        )
    # the scaler sees the steps of the training windows and their targets, nothing later
    train_steps = np.arange(n_fit + window + task.horizon - 1)
    preprocessing = Preprocessing.fit(dataset, task, train_steps, window=window)
    X, y = preprocessing.inputs.windows(values)
    task = dataclasses.replace(task, n_samples=n_fit)
    return PreparedData(
        task=task.with_inputs(preprocessing.input_shape()),
        preprocessing=preprocessing,
        data=SearchData(X[:n_fit], y[:n_fit], X[-n_val:], y[-n_val:]),
        fingerprint=data_fingerprint(values),
    )
