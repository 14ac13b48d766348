"""In-memory data (arrays, DataFrames, lists) to a Dataset, by the same rules as files.

2-D arrays and DataFrames are tables (a DataFrame whose one column is free text is documents);
lists of strings are documents; lists of (T_i, F) arrays are series; (n, H, W[, C]) arrays are
images. A 3-D array is series when it holds NaN (padding), when one of its axes is too short
for an image (Keras' univariate (n, T, 1), aeon's (n, 1, T)), or with modality="series"; one
whose sides are both image-sized but far from square ((n, 6, 100)) could be either and is an
error naming modality=. Waveforms are audio only when modality="audio" says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from automl.data.audio import MIN_SAMPLE_RATE
from automl.data.dataset import MODALITIES, Dataset, as_label_array, count_text, label_missing
from automl.data.images import MIN_IMAGE_SIDE, images_from_array
from automl.data.series import describe_lengths, series_from_array, series_from_list
from automl.data.tables import dated_series
from automl.data.text import is_free_text
from automl.errors import DataError, DataTypeError

MODALITY_CHOICES = ("auto", *MODALITIES)
# A 3-D array with both sides at least MIN_IMAGE_SIDE is images unless one side is this many
# times the other: (n, 6, 100) reads as 6 channels over 100 steps as well as a 6x100 picture.
MAX_IMAGE_ASPECT = 4
MIN_SERIES_STEPS = 8  # a 3-D array with a side too short for an image is series if the other
# is at least this long


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
    kind, features, layout = _features(X, modality, sample_rate)
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
    source: dict[str, Any] = {"format": "memory"}
    if layout is not None:
        source["layout"] = layout  # prediction reads new arrays the same way
    dataset = Dataset(
        modality=kind,  # type: ignore[arg-type]
        X=features,
        y=labels,
        name=_NAMES[kind],
        evidence="",
        ids=[str(i) for i in range(n)],
        source=source,
        sample_rate=sample_rate if kind == "audio" else None,
    )
    dataset.evidence = _evidence(dataset)
    if layout is not None:
        dataset.evidence += f", from an array of shape {LAYOUT_SHAPES[layout]}"
    return dataset


LAYOUT_SHAPES = {"ntf": "(n, T, F)", "nft": "(n, F, T)"}


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


def features_from_memory(X: Any, modality: str, layout: str | None = None) -> Any:
    """Features for prediction, in the container the fitted preprocessing expects; `layout`
    is the training array's, when it was a 3-D series array."""
    return _features(X, modality, None, predicting=True, layout=layout)[1]


def _features(
    X: Any,
    modality: str,
    sample_rate: int | None,
    predicting: bool = False,
    layout: str | None = None,
) -> tuple[str, Any, str | None]:
    """(modality, features, the layout a 3-D series array was read in, else None)."""
    if modality not in MODALITY_CHOICES:
        raise DataError(f"modality must be one of {', '.join(MODALITY_CHOICES)}; got '{modality}'.")
    if modality == "audio":
        if sample_rate is None and not predicting:
            raise DataError("Audio needs its sample rate: pass sample_rate=... with the waveforms.")
        if sample_rate is not None and sample_rate < MIN_SAMPLE_RATE:
            raise DataError(
                f"sample_rate must be at least {MIN_SAMPLE_RATE} Hz; got {sample_rate}."
            )
        return "audio", [np.asarray(w, dtype=np.float32).reshape(-1) for w in X], None
    if isinstance(X, pd.Series):
        X = X.to_frame()
    if isinstance(X, pd.DataFrame):
        frame = X.rename(columns=str).reset_index(drop=True)
        if modality == "text" or (
            modality == "auto" and frame.shape[1] == 1 and is_free_text(frame.iloc[:, 0])
        ):
            return "text", frame.iloc[:, 0].fillna("").astype(str).tolist(), None
        if modality not in ("auto", "table"):
            raise DataError(f"A DataFrame is read as a table; got modality='{modality}'.")
        return "table", frame, None
    if _is_text_list(X) or modality == "text":
        if not _is_text_list(X):
            raise DataError("modality='text' needs a list of strings, one document per row.")
        return "text", [str(v) for v in X], None
    if isinstance(X, list | tuple) and X and not np.isscalar(X[0]):
        if modality == "series" or (modality == "auto" and _ragged(X)):
            return "series", series_from_list(list(X)), None  # (T_i, F) each: no layout
    arr = _as_numeric_array(X)
    if modality == "series" or (modality == "auto" and _series_array(arr)):
        if arr.ndim == 3:
            layout = layout or series_layout(arr.shape, detected=modality == "auto")
        return "series", series_from_array(arr, layout=layout or "ntf"), layout
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
        return "table", pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])]), None
    if arr.ndim == 3 and modality == "auto":
        _refuse_ambiguous(arr.shape)
    if arr.ndim in (3, 4):
        return "image", images_from_array(arr), None
    raise DataError(
        f"Cannot read an array of shape {arr.shape}: expected (n, features) for a table, "
        "(n, H, W[, C]) for images, or (n, T, F) series with modality='series'."
    )


def _series_array(arr: np.ndarray) -> bool:
    """A 3-D array that cannot be images: NaN padding, or a side too short for a picture."""
    if arr.ndim != 3:
        return False
    short, long = sorted(arr.shape[1:])
    return bool(np.isnan(arr).any()) or (short < MIN_IMAGE_SIDE and long >= MIN_SERIES_STEPS)


def series_layout(shape: tuple[int, ...], detected: bool) -> str:
    """In memory, a 3-D series array is (n, T, F), the layout of Keras and of PyTorch's
    batch-first recurrent nets, unless its middle axis is 1 and its last is not (aeon and
    sktime's univariate (n, 1, T)). Detected as series by a short side, the short side is
    the features: (n, 3, 150) is aeon's three channels of 150 steps."""
    if shape[1] == 1 and shape[2] > 1:
        return "nft"
    return "nft" if detected and shape[1] < min(shape[2], MIN_IMAGE_SIDE) else "ntf"


def _refuse_ambiguous(shape: tuple[int, ...]) -> None:
    """(n, a, b) with a and b image-sized but far from square, or both too short for series or
    images: the shape alone cannot say what it holds."""
    short, long = sorted(shape[1:])
    if short < MIN_IMAGE_SIDE and long < MIN_SERIES_STEPS:
        raise DataError(
            f"An array of shape {shape} is too small for images and too short for series; "
            'pass modality="series" if it holds series, or reshape it to a 2-D (n, features) '
            "table."
        )
    if short >= MIN_IMAGE_SIDE and long > MAX_IMAGE_ASPECT * short:
        raise DataError(
            f"An array of shape {shape} could be images of {shape[1]}x{shape[2]} or series "
            '(n, T, F); say which with modality="series" (time on axis 1, or axis 2 when axis '
            '1 has length 1) or modality="image".'
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
