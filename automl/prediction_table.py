"""`automl predict`: new files, read the way the training data was, to a table of predictions
(one row per input, or per future step of a forecast)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from automl.data import ReadOptions, read_for_prediction
from automl.errors import DataError

if TYPE_CHECKING:  # a Predictor calls this module (predict_path): no import back at run time
    from automl.predictor import Predictor


def predict_files(
    predictor: Predictor,
    path: Path,
    proba: bool = False,
    scores: bool = False,
    codes: bool = False,
    reading: ReadOptions | None = None,
) -> pd.DataFrame:
    """Labels or values, with `proba` one probability column per class; a model of unlabelled
    data gives anomaly scores (`scores`, its default) and, with `codes`, one column per code
    unit; a forecaster the next steps."""
    task = predictor.task
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
    pre = predictor.preprocessing
    ids, X, notes = read_for_prediction(
        path,
        predictor.config.get("source", {}),
        task.modality,
        **pre.inputs.reading_hints(),
        reading=reading,
    )
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if task.target_kind == "forecasting":
        return forecast_table(ids, predictor.predict(X)[0])
    inputs = predictor.inputs(X)  # once, for every column
    if task.target_kind == "none":
        frame = pd.DataFrame({"id": ids, "anomaly_score": predictor.reconstruction_errors(inputs)})
        if codes:
            values = predictor.codes(inputs)
            for i in range(values.shape[1]):
                frame[f"code_{i}"] = values[:, i]
        return frame
    outputs = predictor.network_outputs(inputs)
    frame = pd.DataFrame({"id": ids, "prediction": pre.target.decode(outputs)})
    if proba:
        probabilities = predictor.probabilities(outputs)
        for i, label in enumerate(predictor.classes_):
            frame[f"proba_{label}"] = probabilities[:, i]
    return frame


def forecast_table(times: list[str], values: np.ndarray) -> pd.DataFrame:
    """One row per future step; with a time column when the times are numbers (years, step
    numbers) that can be continued."""
    steps = np.arange(1, len(values) + 1)
    frame = pd.DataFrame({"step": steps, "prediction": values})
    numbers = pd.to_numeric(pd.Series(times[-2:]), errors="coerce")
    if len(times) >= 2 and numbers.notna().all():  # yearly or step-numbered: continue it
        last, stride = numbers.iloc[-1], numbers.iloc[-1] - numbers.iloc[-2]
        frame.insert(0, "time", last + stride * steps)
    return frame
