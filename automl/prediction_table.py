"""`automl predict`: new files, read the way the training data was, to a table of predictions
(one row per input, or per future step of a forecast)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from automl.data import ReadOptions, read_for_prediction, read_forecast_history
from automl.data.text import tokenize
from automl.data.trees import phrases, sentence_tree
from automl.errors import DataError
from automl.forecaster import median_index
from automl.seasonality import date_frequency

if TYPE_CHECKING:  # a Predictor calls this module (predict_path): no import back at run time
    import torch

    from automl.predictor import Predictor


def predict_files(
    predictor: Predictor,
    path: Path,
    proba: bool = False,
    scores: bool = False,
    codes: bool = False,
    reading: ReadOptions | None = None,
    nodes: bool = False,
) -> pd.DataFrame:
    """Labels or values, with `proba` one probability column per class; a model of unlabelled
    data gives anomaly scores (`scores`, its default) and, with `codes`, one column per code
    unit; a forecaster the next steps; `nodes`: a label for every phrase of each sentence's
    parse tree (an RNTN's)."""
    task = predictor.task
    if nodes and task.tree_leaves is None:
        raise DataError(
            "--nodes labels every phrase of a parse tree; this model was not trained on parse "
            "trees (.txt files of bracketed trees)."
        )
    if task.target_kind == "none" and proba:
        raise DataError(
            "--proba is for classifiers; this model of unlabelled data gives anomaly scores "
            "(--scores) and codes (--codes)."
        )
    if task.target_kind != "none" and (scores or codes):
        raise DataError(
            "--scores and --codes are for models of unlabelled data; this model predicts "
            "labels or values (use --proba for class probabilities)."
        )
    if task.target_kind == "forecasting":
        return _forecast_file(predictor, path, reading)
    pre = predictor.preprocessing
    ids, X, notes = read_for_prediction(
        path,
        predictor.config.get("source", {}),
        task.modality,
        **pre.inputs.reading_hints(),
        reading=reading,
    )
    _say(notes)
    inputs = predictor.inputs(X)  # once, for every column
    if task.target_kind == "none":
        frame = pd.DataFrame({"id": ids, "anomaly_score": predictor.reconstruction_errors(inputs)})
        if codes:
            values = predictor.codes(inputs)
            for i in range(values.shape[1]):
                frame[f"code_{i}"] = values[:, i]
        return frame
    if nodes:
        return node_table(predictor, ids, X, inputs, proba)
    outputs = predictor.network_outputs(inputs)
    frame = pd.DataFrame({"id": ids, "prediction": pre.target.decode(outputs)})
    if proba:
        probabilities = predictor.probabilities(outputs)
        for i, label in enumerate(predictor.classes_):
            frame[f"proba_{label}"] = probabilities[:, i]
    return frame


def node_table(
    predictor: Predictor, ids: list[str], lines: list[str], inputs: torch.Tensor, proba: bool
) -> pd.DataFrame:
    """One row per phrase (node) of each sentence's tree, leaves first then inner nodes in
    post-order (the root last): `id`, `node`, `phrase`, the `label` the file gave (if any),
    `prediction`, and with `proba` one probability column per class."""
    leaves = predictor.task.tree_leaves
    probabilities = predictor.network.node_probabilities(inputs)
    classes = np.asarray(predictor.classes_, dtype=object)
    rows = []
    for row, (name, line) in enumerate(zip(ids, lines, strict=True)):
        for phrase in phrases(sentence_tree(line, tokenize), leaves):
            rows.append((name, phrase.node, phrase.words, phrase.label, row))
    frame = pd.DataFrame(rows, columns=["id", "node", "phrase", "label", "row"])
    picked = probabilities[frame["row"].to_numpy(), frame["node"].to_numpy()]
    frame["prediction"] = classes[picked.argmax(axis=1)].astype(type(classes[0]))
    if proba:
        for i, label in enumerate(classes):
            frame[f"proba_{label}"] = picked[:, i]
    if not (frame["label"] != "").any():
        frame = frame.drop(columns="label")
    return frame.drop(columns="row")


def _forecast_file(predictor: Predictor, path: Path, reading: ReadOptions | None) -> pd.DataFrame:
    """The next steps of every series in a table like the training one."""
    source = predictor.config.get("source", {})
    ids, times, series, notes = read_forecast_history(path, source, reading)
    _say(notes)
    values = predictor.forecast_series(series, ids, times)
    return forecast_table(ids if source.get("id") else None, times, values, predictor.quantiles)


def forecast_table(
    ids: list[str] | None, times: list[list[str]], values: np.ndarray, quantiles: list[float]
) -> pd.DataFrame:
    """One row per series and future step: `id` (several series), `time` (when the times can
    be continued), `step`, `prediction` (the median) and one column per quantile level
    (`q10`, `q50`, `q90`) when there are intervals."""
    frames = []
    middle = median_index(quantiles)
    for i, history in enumerate(times):
        steps = np.arange(1, values.shape[1] + 1)
        frame = pd.DataFrame({"step": steps})
        future = future_times(history, len(steps))
        if future is not None:
            frame.insert(0, "time", future)
        frame["prediction"] = values[i, :, middle]
        if len(quantiles) > 1:
            for j, level in enumerate(quantiles):
                frame[quantile_column(level)] = values[i, :, j]
        if ids is not None:
            frame.insert(0, "id", ids[i])
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def quantile_column(level: float) -> str:
    """0.1 -> 'q10', 0.025 -> 'q2.5'."""
    return f"q{100 * level:g}"


def future_times(times: list[str], steps: int) -> list[Any] | None:
    """The next `steps` times after a series': numbers (years, step numbers) continued by their
    last stride, dates by their frequency; None when neither can be told."""
    if len(times) < 2:
        return None
    numbers = pd.to_numeric(pd.Series(times[-2:]), errors="coerce")
    if numbers.notna().all():
        last, stride = numbers.iloc[-1], numbers.iloc[-1] - numbers.iloc[-2]
        ahead = last + stride * np.arange(1, steps + 1)
        return [int(v) if float(v).is_integer() else float(v) for v in ahead]
    frequency = date_frequency(times[-20:])
    if frequency is None:
        return None
    dates = pd.to_datetime(pd.Series(times[-20:]), format="mixed")
    ahead = pd.date_range(dates.iloc[-1], periods=steps + 1, freq=frequency)[1:]
    midnight = bool((dates.dt.normalize() == dates).all())
    return [d.strftime("%Y-%m-%d") if midnight else d.isoformat() for d in ahead]


def _say(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
