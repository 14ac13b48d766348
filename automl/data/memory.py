"""In-memory data (arrays, DataFrames, lists) to a Dataset, by the same rules as files.

2-D arrays and DataFrames are tables (a DataFrame whose one column is free text is documents);
lists of strings are documents; lists of (T_i, F) arrays are series; (n, H, W[, C]) arrays are
images, except a 3-D array holding NaN (padding) or given with modality="series", which is
series (n, T, F). Waveforms are audio only when modality="audio" says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.data.audio import MIN_SAMPLE_RATE
from automl.data.dataset import MODALITIES, Dataset, as_label_array, count_text, label_missing
from automl.data.images import images_from_array
from automl.data.series import describe_lengths, series_from_array, series_from_list
from automl.data.tables import dated_series
from automl.data.text import is_free_text
from automl.errors import DataError, DataTypeError

MODALITY_CHOICES = ("auto", *MODALITIES)


def from_memory(
    X: Any,
    y: Any = None,
    modality: str = "auto",
    horizon: int | None = None,
    sample_rate: int | None = None,
) -> Dataset:
    """Wrap in-memory features (and labels, if any) as a Dataset."""
    if horizon is not None:
        return _forecast_series(X, horizon)
    kind, features = _features(X, modality, sample_rate)
    n = len(features)
    labels = None
    if y is not None:
        labels = as_label_array(np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y))
        if labels.ndim != 1:
            raise DataError(f"y must be one label per row (1-D); got shape {labels.shape}.")
        if len(labels) != n:
            raise DataError(f"X has {n} rows but y has {len(labels)}; they must match.")
        missing = label_missing(labels)
        if missing.any():
            raise DataError(
                f"y has {int(missing.sum())} missing labels; drop those rows or fill them in."
            )
    dataset = Dataset(
        modality=kind,  # type: ignore[arg-type]
        X=features,
        y=labels,
        name=_NAMES[kind],
        evidence="",
        ids=[str(i) for i in range(n)],
        source={"format": "memory"},
        sample_rate=sample_rate if kind == "audio" else None,
    )
    dataset.evidence = _evidence(dataset)
    return dataset


_NAMES = {
    "table": "dataframe",
    "image": "images",
    "text": "texts",
    "audio": "audio",
    "series": "series",
}


def _evidence(dataset: Dataset) -> str:
    rows = count_text(len(dataset))
    if dataset.modality == "series":
        return f"in-memory {describe_lengths(dataset.X)}"
    if dataset.modality == "text":
        return f"in-memory list of {rows} documents"
    if dataset.modality == "audio":
        return f"in-memory list of {rows} waveforms at {dataset.sample_rate} Hz"
    what = (
        "DataFrame"
        if isinstance(dataset.X, pd.DataFrame) and dataset.modality == "table"
        else ("2-D array" if dataset.modality == "table" else "image array")
    )
    return f"in-memory {what}: {rows} rows, shape {dataset.data_shape[1:]}"


def features_from_memory(X: Any, modality: str) -> Any:
    """Features for prediction, in the container the fitted preprocessing expects."""
    return _features(X, modality, None, predicting=True)[1]


def _features(
    X: Any, modality: str, sample_rate: int | None, predicting: bool = False
) -> tuple[str, Any]:
    if modality not in MODALITY_CHOICES:
        raise DataError(f"modality must be one of {', '.join(MODALITY_CHOICES)}; got '{modality}'.")
    if modality == "audio":
        if sample_rate is None and not predicting:
            raise DataError("Audio needs its sample rate: pass sample_rate=... with the waveforms.")
        if sample_rate is not None and sample_rate < MIN_SAMPLE_RATE:
            raise DataError(
                f"sample_rate must be at least {MIN_SAMPLE_RATE} Hz; got {sample_rate}."
            )
        return "audio", [np.asarray(w, dtype=np.float32).reshape(-1) for w in X]
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        frame = X.rename(columns=str).reset_index(drop=True)
        if modality == "text" or (
            modality == "auto" and frame.shape[1] == 1 and is_free_text(frame.iloc[:, 0])
        ):
            return "text", frame.iloc[:, 0].fillna("").astype(str).tolist()
        if modality not in ("auto", "table"):
            raise DataError(f"A DataFrame is read as a table; got modality='{modality}'.")
        return "table", frame
    if _is_text_list(X) or modality == "text":
        if not _is_text_list(X):
            raise DataError("modality='text' needs a list of strings, one document per row.")
        return "text", [str(v) for v in X]
    if isinstance(X, list | tuple) and X and not np.isscalar(X[0]):
        if modality == "series" or (modality == "auto" and _ragged(X)):
            return "series", series_from_list(list(X))  # (T_i, F) each: no layout guess
    arr = _as_numeric_array(X)
    if modality == "series" or (modality == "auto" and arr.ndim == 3 and np.isnan(arr).any()):
        return "series", series_from_array(arr, layout="ntf")  # in memory: always (n, T, F)
    if modality == "table" or (modality == "auto" and arr.ndim == 2):
        if arr.ndim != 2:
            raise DataError(
                f"Expected a 2-D table of features; got shape {arr.shape}. Reshape your data: "
                "X.reshape(-1, 1) for one feature, X.reshape(1, -1) for one sample."
            )
        if arr.shape[1] == 0:
            raise DataError(
                f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is "
                "required; give X at least one column."
            )
        return "table", pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    if arr.ndim in (3, 4):
        return "image", images_from_array(arr)
    raise DataError(
        f"Cannot read an array of shape {arr.shape}: expected (n, features) for a table, "
        "(n, H, W[, C]) for images, or (n, T, F) series with modality='series'."
    )


def _is_text_list(X: Any) -> bool:
    if isinstance(X, np.ndarray):
        return X.dtype.kind in "US" or (X.dtype == object and X.ndim == 1 and _all_str(X))
    return isinstance(X, list | tuple) and len(X) > 0 and _all_str(X)


def _all_str(values: Any) -> bool:
    return all(isinstance(v, str) for v in values)


def _ragged(items: Any) -> bool:
    return len({np.shape(item) for item in items}) > 1


def _as_numeric_array(X: Any) -> np.ndarray:
    if hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse, without importing scipy
        raise DataError(
            "Sparse input is not supported; pass a dense array (X.toarray()) or a DataFrame."
        )
    try:
        arr = np.asarray(X)
        if arr.dtype.kind != "c":  # complex would lose its imaginary part, silently
            return arr.astype(np.float32)
    except (TypeError, ValueError) as exc:
        error = DataTypeError if isinstance(exc, TypeError) else DataError
        raise error(
            "X must be numeric (an array or a DataFrame; pass a DataFrame for text or "
            f"categorical columns, a list of arrays for series): {exc}"
        ) from exc
    raise DataError("Complex data not supported; pass real numbers (e.g. X.real, abs(X)).")


def _forecast_series(X: Any, horizon: int) -> Dataset:
    """One series to forecast: a DataFrame with a time column, or a 1-D / (T, F) array."""
    if isinstance(X, pd.Series):
        if isinstance(X.index, pd.DatetimeIndex) or X.index.name is not None:
            X = X.rename(X.name or "value").rename_axis(X.index.name or "time").reset_index()
        else:  # a plain position index orders it already
            X = X.to_numpy()
    if isinstance(X, pd.DataFrame):
        return dated_series(X.rename(columns=str), None, horizon, "forecast", "in-memory series")
    values = _as_numeric_array(X)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DataError(f"A series to forecast must be 1-D or (T, F); got shape {values.shape}.")
    frame = pd.DataFrame(values, columns=[f"x{i}" for i in range(values.shape[1])])
    frame.insert(0, "step", np.arange(len(frame)))
    return dated_series(frame, "x0", horizon, "forecast", "in-memory series")
