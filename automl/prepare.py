"""The first stage of a fit: detect the task, split the rows, fit the preprocessing.

The preprocessing is fitted on the training rows only; the validation rows are the given val/
split, or a stratified random fifth of train/ (a forecast validates on the last steps of each
series: see _prepare_forecast). A given test/ split is kept apart and scored once by the finish.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.stats
from sklearn.model_selection import train_test_split

from automl.data import Dataset
from automl.engine.settings import SearchData
from automl.errors import DataError
from automl.options import FitOptions
from automl.preprocessing import ForecastPreprocessor, Preprocessing, TargetEncoder, forecast_window
from automl.preprocessing.forecast import MIN_HISTORY, fill_gaps, without_missing_end
from automl.seasonality import calendar_unit, detect_period, naive_forecasts
from automl.selection import HOLDOUT, Selection, choose_selection, fold_ids
from automl.task import detect_task
from automl.task_info import TaskInfo

VALIDATION_SHARE = 0.2
DEFAULT_QUANTILES = (0.1, 0.5, 0.9)  # a forecast's median and 80 % interval
MANY_SERIES = 10  # from this many series on, each validates on its last horizon only
MIN_TRAINING_WINDOWS = 8  # a lone short series keeps this many for training before validating


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
    # a forecast's validation windows: (series index, first forecast step) of each
    origins: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2), np.int64))
    selection: Selection = HOLDOUT  # how trials are scored: one split, or k folds


def prepare(dataset: Dataset, options: FitOptions, say: Callable[[str], None]) -> PreparedData:
    """Detect the task the options ask for, say what was found, and prepare the data."""
    task = detect_task(dataset, options.task, options.families, options.code_size)
    for note in dataset.notes:
        say(f"note: {note}")
    say(f"task: {task.reason}")
    prepared = prepare_data(dataset, task, options.seed, options.quantiles, options.selection)
    for note in prepared.notes:
        say(f"note: {note}")
    if prepared.selection.scheme == "cv":
        say(f"selection: {prepared.selection.reason}")
    return prepared


def split_rows(
    dataset: Dataset, task: TaskInfo, seed: int, asked: str = "auto"
) -> tuple[dict[str, np.ndarray], Selection]:
    """Row indices of the train, validation and (given) test parts, and how trials are scored.

    Given split folders are used as they are; without a val/ folder the validation rows come
    from train/. On small labelled data (automl.selection) they are all the training rows,
    each validated out of fold. Otherwise the split is random, stratified by class for
    classification.
    """
    rows = np.arange(len(dataset))
    given = dataset.split if dataset.split is not None else np.full(len(rows), "train", object)
    parts = {name: rows[given == name] for name in ("train", "val", "test")}
    train = parts["train"]
    labels = dataset.y[train] if dataset.y is not None and task.labelled else None
    classes = labels.astype(str) if labels is not None and task.is_classification else None
    selection = choose_selection(
        len(train), task.target_kind, classes, len(parts["val"]) > 0, asked
    )
    if selection.scheme == "cv" or len(parts["val"]):
        return {**parts, "val": train if selection.scheme == "cv" else parts["val"]}, selection
    n_val = max(int(round(VALIDATION_SHARE * len(train))), task.n_classes or 1)
    stratify = labels.astype(str) if task.is_classification else None
    if stratify is not None and min(collections.Counter(stratify).values()) < 2:
        stratify = None  # a class with one training example (the rest in a given test/)
    fit_rows, val_rows = train_test_split(
        train, test_size=n_val, random_state=seed, stratify=stratify
    )
    return {"train": np.sort(fit_rows), "val": np.sort(val_rows), "test": parts["test"]}, selection


def data_fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:16]


def prepare_data(
    dataset: Dataset,
    task: TaskInfo,
    seed: int,
    quantiles: tuple[float, ...] | None = None,
    selection: str = "auto",
) -> PreparedData:
    """Split, fit the preprocessing on the training rows, transform every part (`quantiles`:
    a forecast's levels; `selection`: cv, holdout or auto, see automl.selection)."""
    if task.target_kind == "forecasting":
        return _prepare_forecast(dataset, task, quantiles)
    parts, selection = split_rows(dataset, task, seed, selection)
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

    if selection.scheme == "cv":  # every training row validates once, out of fold
        X_train, y_train = part("train")
        labels = y_train if task.is_classification else None
        folds = fold_ids(len(X_train), selection.folds, labels, seed)
        data = SearchData(X_train, y_train, X_train, y_train, folds)
    else:
        data = SearchData(*part("train"), *part("val"))
    return PreparedData(
        task=task.with_inputs(
            preprocessing.input_shape(),
            preprocessing.vocab_size,
            spread,
            preprocessing.tree_leaves,
        ),
        preprocessing=preprocessing,
        data=data,
        selection=selection,
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


def _prepare_forecast(
    dataset: Dataset, task: TaskInfo, quantiles: tuple[float, ...] | None
) -> PreparedData:
    """Windows of every series; the validation windows are backtests from several origins.

    Each series keeps its last steps for validation (see validation_tail): forecasts from every
    origin there, scored as a MASE,
    are what selects models, and the naive forecasts are scored on the same origins. Training
    windows forecast only steps before that tail, so no training target is a validation one.
    The scales, period and covariate scaler see the training steps only.
    """
    horizon = int(task.horizon)
    series, notes = [], []
    filled = trimmed = 0
    for values in dataset.X:
        kept = without_missing_end(np.asarray(values, dtype=np.float32))
        trimmed += len(values) - len(kept)
        clean, gaps = fill_gaps(kept)
        series.append(clean)
        filled += gaps
    if trimmed:
        notes.append(f"left out {trimmed} last row(s) whose forecast column is empty")
    if filled:
        notes.append(f"interpolated {filled} missing value(s) of the forecast column")
    ids = list(dataset.ids or [str(i) for i in range(len(series))])
    many = len(series) >= MANY_SERIES
    tails = [validation_tail(len(s), horizon, many) for s in series]
    usable = [i for i, s in enumerate(series) if tails[i] >= horizon]
    if not usable:
        raise DataError(
            f"Every series is shorter than {horizon + MIN_HISTORY} steps ({MIN_HISTORY} to "
            f"read and {horizon} to check a forecast of {horizon}); give longer series or a "
            "shorter --horizon."
        )
    training = [series[i][: len(series[i]) - tails[i]] for i in usable]
    times = [dataset.times[i] if dataset.times else [] for i in usable]
    period, period_how = detect_period(times, [t[:, 0] for t in training])
    notes.append(f"seasonal period {period}: {period_how}")
    calendar = calendar_unit(times[0]) if times and times[0] else ""
    if calendar:
        notes.append(f"each step's {calendar} is a searched input (from the dates)")
    lengths = [len(t) for t in training]
    # many series: windows as long as a typical series, the shorter ones padded
    typical = 2 * int(np.median(lengths)) if many else max(lengths)
    window = forecast_window(horizon, typical, period)
    levels = quantiles or DEFAULT_QUANTILES
    forecast = ForecastPreprocessor.fit(
        training, [ids[i] for i in usable], horizon, window, period, list(levels), calendar
    )
    parts: dict[str, list] = {f"{a}_{b}": [] for a in "Xy" for b in ("train", "refit", "val")}
    validation_origins: list[tuple[int, int]] = []
    trained = 0  # series that give a training window
    baselines: dict[str, list[float]] = {}
    for i in usable:
        values, scale, tail = series[i], forecast.scales[ids[i]], tails[i]
        first_val = len(values) - tail
        training_starts = np.arange(MIN_HISTORY, first_val - horizon + 1)
        # the origins between: their targets run into the tail, so only the refit learns them
        # (on M1 yearly, five of a series' dozen windows, and its most recent)
        bridging = np.arange(max(MIN_HISTORY, first_val - horizon + 1), first_val)
        backtests = np.arange(first_val, len(values) - horizon + 1)
        stamps = dataset.times[i][: len(values)] if dataset.times else None
        # one call: the series is scaled once for every part
        origins = np.r_[training_starts, bridging, backtests]
        X, y = forecast.windows(values, scale, origins, stamps)
        n, m = len(training_starts), len(training_starts) + len(bridging)
        parts["X_train"].append(X[:n])
        parts["y_train"].append(y[:n])
        parts["X_refit"].append(X[n:m])
        parts["y_refit"].append(y[n:m])
        parts["X_val"].append(X[m:])
        parts["y_val"].append(y[m:])
        trained += n > 0
        validation_origins += [(i, int(o)) for o in backtests]
        for origin in backtests:
            actual = values[origin : origin + horizon, 0]
            for name, guess in naive_forecasts(values[:origin, 0], horizon, period).items():
                baselines.setdefault(name, []).append(
                    float(np.mean(np.abs(guess - actual))) / scale
                )
    untrained = len(series) - trained
    if untrained:
        notes.append(
            f"{untrained} series shorter than {2 * horizon + MIN_HISTORY} steps give no "
            f"training window ({MIN_HISTORY} steps to read, {horizon} to learn, {horizon} to "
            "validate); they are still forecast, from the history they have"
        )
    if not trained:
        raise DataError(
            f"The series are too short to forecast {horizon} ahead: no window leaves room for "
            f"{MIN_HISTORY} steps to read, {horizon} to learn and {horizon} to validate. Give "
            "longer series or a shorter --horizon."
        )
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    training_values = np.concatenate(
        [t[:, 0] / forecast.scales[ids[i]] for i, t in zip(usable, training, strict=True)]
    )
    lam = _boxcox_lambda(training_values)
    info = {
        "period": period,
        "quantiles": list(levels),
        "positive": bool((training_values > 0).all()),
        "boxcox_lambda": lam,
        "levels": _levels(training_values, lam),
        "baselines": {name: float(np.mean(v)) for name, v in baselines.items()},
        "n_series": len(series),
        "calendar": 2 * bool(calendar),  # channels at the end of each step
    }
    preprocessing = Preprocessing("series", TargetEncoder(kind="forecast"), forecast)
    task = dataclasses.replace(task, n_samples=len(arrays["X_train"]), forecast=info)
    return PreparedData(
        task=task.with_inputs(preprocessing.input_shape()),
        preprocessing=preprocessing,
        data=SearchData(**arrays),
        fingerprint=data_fingerprint(*series),
        notes=notes,
        origins=np.asarray(validation_origins, dtype=np.int64).reshape(-1, 2),
    )


def validation_tail(steps: int, horizon: int, many: bool) -> int:
    """The last steps of a series kept for validation: with many series, one horizon each
    (their number makes the backtests); with few, at least two horizons, so the score averages
    several origins (one origin of ShampooSales' six months picked noise), up to a fifth of the
    series or four horizons, so a long series still trains on its recent past before the
    finish's refit (co2's fifth was eight years), as long as a few training windows remain."""
    if many:
        wanted = horizon
    else:
        wanted = max(2 * horizon, min(round(VALIDATION_SHARE * steps), 4 * horizon))
        wanted = min(wanted, max(horizon, steps - MIN_TRAINING_WINDOWS - horizon - MIN_HISTORY))
    return min(wanted, steps - MIN_HISTORY)


def _boxcox_lambda(values: np.ndarray) -> float | None:
    """Box-Cox's lambda for positive values (maximum likelihood), kept within [-1, 2]."""
    if len(values) < 3 or not (values > 0).all() or np.ptp(values) < 1e-9:
        return None
    # the likelihood's best lambda does not change with the values' scale: divided by their
    # geometric mean, a high level with a small spread (co2) stays within float range
    relative = values.astype(np.float64) / np.exp(np.mean(np.log(values)))
    try:
        lam = scipy.stats.boxcox_normmax(relative, brack=(-1.0, 2.0))
    except (ValueError, FloatingPointError, OverflowError, RuntimeError):
        return None
    return float(np.clip(lam, -1.0, 2.0)) if np.isfinite(lam) else None


def _levels(values: np.ndarray, lam: float | None) -> dict[str, list[float]]:
    """The training values' mean and spread under each transform (a forecaster's "global"
    scaling); a transform the values cannot take (or Box-Cox without a lambda) is left out,
    and is not searched."""
    transformed = {"none": values}
    if (values > 0).all():
        transformed["log"] = np.log(values)
        if lam is not None:
            transformed["boxcox"] = np.log(values) if abs(lam) < 1e-3 else (values**lam - 1) / lam
    return {
        name: [float(np.mean(v)), float(max(np.std(v), 1e-6))] for name, v in transformed.items()
    }
