"""Time series: UCR/UEA .ts files, .npy/.npz arrays, wide and long tables, one dated series.

Every series becomes a float32 (T, F) array (time first, features last); series of different
lengths stay different (padding with a mask happens in preprocessing). Arrays follow the
convention (n, T, F), the layout of Keras and of PyTorch's batch-first recurrent nets; a 3-D
array is read as (n, F, T) instead when its middle axis is longer than its last (series are
longer than they are wide: aeon and sktime write (n, channels, T)); `--layout` overrides.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.data.dataset import count_text
from automl.errors import DataError

SERIES_EXTENSIONS = frozenset({".ts", ".npy", ".npz"})
LAYOUTS = ("auto", "ntf", "nft")
ARRAY_FEATURE_KEYS = ("X", "x", "data", "series")
ARRAY_LABEL_KEYS = ("y", "labels", "target")
# Table columns that make a long table (id + time + values) or a dated series.
ID_COLUMN_NAMES = ("id", "series_id", "series", "sample_id", "case_id", "unique_id")
TIME_COLUMN_NAMES = (
    "time",
    "timestamp",
    "date",
    "datetime",
    "ds",
    "t",
    "step",
    "time_step",
    "year",
    "month",
    "week",
    "day",
)
MIN_WIDE_COLUMNS = 10  # a wide table (one series per row) has at least this many time columns
# Column-name prefixes that count time in a wide table (t0, t1, ...; step_1, step_2, ...).
# Plain numbers (0, 1, ...) and other prefixes (x1, pixel0, feature_3) are ordinary features.
WIDE_PREFIXES = ("t", "time", "time_", "step", "step_", "timestep", "timestep_", "t_")


# ----------------------------------------------------------------------------- .ts files


def read_ts(path: Path) -> tuple[list[np.ndarray], np.ndarray | None, dict[str, str]]:
    """Parse a UCR/UEA .ts file: header lines (@name value), then @data, then one case per line
    (dimensions separated by ':', values by ',', '?' missing, the label last when declared).

    Returns (series as (T, F) arrays, labels or None, header). A malformed file is a DataError
    naming the line.
    """
    header: dict[str, str] = {}
    series: list[np.ndarray] = []
    labels: list[str] = []
    in_data = False
    labelled = False
    n_dims = None
    with open(path, encoding="utf-8", errors="replace") as handle:
        for lineno, line in enumerate(handle, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if not in_data:
                if not text.startswith("@"):
                    raise DataError(
                        f"{path.name} line {lineno}: expected a header line (@problemName, "
                        "@classLabel, ...) or @data before the values; is this a .ts file?"
                    )
                key, _, value = text[1:].partition(" ")
                key = key.lower()
                if key == "data":
                    labelled = _ts_labelled(header, path)
                    in_data = True
                else:
                    header[key] = value.strip()
                continue
            fields = text.split(":")
            if labelled:
                if len(fields) < 2:
                    raise DataError(
                        f"{path.name} line {lineno}: a case without a label after ':' though "
                        "the header declares labels."
                    )
                labels.append(fields.pop().strip())
            if n_dims is None:
                n_dims = len(fields)
            elif len(fields) != n_dims:
                raise DataError(
                    f"{path.name} line {lineno}: {len(fields)} dimensions where earlier cases "
                    f"have {n_dims}; every case needs the same number of ':'-separated parts."
                )
            series.append(_ts_case(fields, path, lineno))
    if not in_data:
        raise DataError(
            f"{path.name} has no @data line, so it is not a valid .ts file; the header must end "
            "with @data before the cases."
        )
    if not series:
        raise DataError(f"{path.name} has a header but no cases after @data.")
    declared = header.get("classlabel", "").split()[1:]
    if declared and labels:
        unknown = sorted(set(labels) - set(declared))
        if unknown:
            raise DataError(
                f"{path.name}: labels {', '.join(unknown[:5])} are not among the classes the "
                f"header declares ({' '.join(declared)})."
            )
    y = None
    if labels:
        y = np.asarray(labels, dtype=object)
        if header.get("targetlabel", "").lower().startswith("true"):
            y = _numeric_labels(y, path)
    return series, y, header


def _ts_labelled(header: dict[str, str], path: Path) -> bool:
    if header.get("timestamps", "false").lower() != "false":
        raise DataError(
            f"{path.name} uses @timeStamps true, which automl does not read; write the values "
            "without time stamps."
        )
    class_label = header.get("classlabel", "").split()
    target_label = header.get("targetlabel", "").split()
    for name, words in (("@classLabel", class_label), ("@targetLabel", target_label)):
        if words and words[0].lower() not in ("true", "false"):
            raise DataError(
                f"{path.name}: the header line {name} must start with true or false; "
                f"got '{' '.join(words)}'."
            )
    return bool(
        (class_label and class_label[0].lower() == "true")
        or (target_label and target_label[0].lower() == "true")
    )


def _ts_case(fields: list[str], path: Path, lineno: int) -> np.ndarray:
    dims = []
    for field in fields:
        try:
            values = np.asarray(
                [v if v.strip() not in ("?", "") else "nan" for v in field.split(",")],
                dtype=np.float32,
            )
        except ValueError as exc:
            raise DataError(f"{path.name} line {lineno}: a value is not a number ({exc}).") from exc
        dims.append(values)
    longest = max(len(d) for d in dims)
    padded = [np.pad(d, (0, longest - len(d)), constant_values=np.nan) for d in dims]
    return np.stack(padded, axis=1)


def _numeric_labels(y: np.ndarray, path: Path) -> np.ndarray:
    try:
        return y.astype(np.float64)
    except ValueError as exc:
        raise DataError(f"{path.name}: @targetLabel true but a target is not a number.") from exc


# ----------------------------------------------------------------------------- arrays


def read_array_file(
    path: Path, layout: str = "auto"
) -> tuple[list[np.ndarray], Any, list[str], str]:
    """Read series from .npy (features only) or .npz (X/x and optionally y) without pickle.

    Returns (series, labels or None, notes, the layout used: 'ntf' or 'nft').
    """
    try:
        loaded = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as exc:
        raise DataError(f"Cannot read '{path}': the .npz archive is damaged ({exc}).") from exc
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise DataError(_ragged_message(path)) from exc
        raise DataError(f"Cannot read '{path}' as a numpy file: {exc}") from exc
    except OSError as exc:
        raise DataError(f"Cannot read '{path}' as a numpy file: {exc}") from exc
    y = None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            x_key = next((k for k in ARRAY_FEATURE_KEYS if k in keys), None)
            if x_key is None:
                keys = [k for k in keys if k not in ARRAY_LABEL_KEYS]
                if len(keys) != 1:
                    raise DataError(
                        f"'{path.name}' has arrays {', '.join(keys)}; name the series 'X' "
                        "(and the labels 'y')."
                    )
                x_key = keys[0]
            y_key = next((k for k in ARRAY_LABEL_KEYS if k in keys), None)
            try:
                arr = loaded[x_key]
                y = None if y_key is None else loaded[y_key]
            except ValueError as exc:
                raise DataError(_ragged_message(path)) from exc
    else:
        arr = loaded
    resolved = resolve_layout(np.shape(arr), layout)
    series = series_from_array(arr, resolved)
    note = None
    if layout == "auto" and resolved == "nft":
        note = (
            f"read the array of shape {np.shape(arr)} as (n, features, time) since its last "
            "axis is the longest; --layout ntf overrides"
        )
    if y is not None:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(series):
            raise DataError(
                f"'{path.name}': y has shape {y.shape} but there are {len(series)} series; "
                "store one label per series."
            )
    return series, y, [note] if note else [], resolved


def _ragged_message(path: Path) -> str:
    return (
        f"'{path.name}' holds Python objects (ragged arrays), which cannot be read without "
        "unpickling; save the series padded with NaN as one (n, T, F) array."
    )


def resolve_layout(shape: tuple[int, ...], layout: str) -> str:
    """'ntf' or 'nft' for a 3-D array: as declared, else the longer axis is time."""
    if layout != "auto" or len(shape) != 3:
        return "ntf" if layout == "auto" else layout
    return "nft" if shape[1] < shape[2] else "ntf"


def series_from_array(arr: Any, layout: str = "auto") -> list[np.ndarray]:
    """(n, T) or (n, T, F) / (n, F, T) -> list of (T_i, F); trailing all-NaN steps are padding."""
    if layout not in LAYOUTS:
        raise DataError(f"--layout must be one of {', '.join(LAYOUTS)}; got '{layout}'.")
    try:
        arr = np.asarray(arr, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(
            "Series of different lengths need a declared time axis: pass a list of (T_i, F) "
            f"arrays, or one (n, T, F) array padded with NaN ({exc})."
        ) from exc
    if arr.ndim == 2:
        arr = arr[:, :, None]
    elif arr.ndim == 3:
        if resolve_layout(arr.shape, layout) == "nft":
            arr = arr.transpose(0, 2, 1)
    else:
        raise DataError(
            f"Cannot read an array of shape {arr.shape} as series: expected (n, T) or (n, T, F)."
        )
    if len(arr) == 0 or arr.shape[1] == 0:
        raise DataError(f"The array of shape {arr.shape} holds no series.")
    if np.isinf(arr).any():
        raise DataError("The series contain infinite values; replace them with NaN or numbers.")
    return [_strip_padding(s) for s in arr]


def series_from_list(items: list[Any]) -> list[np.ndarray]:
    """A list of (T_i,) or (T_i, F) arrays: the axis whose length varies is time."""
    if not items:
        raise DataError("The list of series is empty.")
    try:
        arrays = [np.asarray(item, dtype=np.float32) for item in items]
    except (TypeError, ValueError) as exc:
        raise DataError(f"Each series must be an array of numbers: {exc}") from exc
    dims = {a.ndim for a in arrays}
    if dims == {1}:
        return [a[:, None] for a in arrays]
    if dims != {2}:
        raise DataError(
            "A list of series must hold arrays that are all 1-D (T_i,) or all 2-D (T_i, F)."
        )
    firsts = {a.shape[0] for a in arrays}
    seconds = {a.shape[1] for a in arrays}
    if len(seconds) == 1:
        return arrays  # (T_i, F): the feature count is fixed
    if len(firsts) == 1:
        return [a.T for a in arrays]  # (F, T_i)
    raise DataError(
        "The series vary in length along both axes, so the time axis cannot be told; pass "
        "arrays of shape (T_i, F) with the same F."
    )


def _strip_padding(series: np.ndarray) -> np.ndarray:
    """Drop all-NaN steps at the end (padding); NaN inside a series stays missing."""
    present = ~np.isnan(series).all(axis=1)
    if present.all():
        return series
    if not present.any():
        return series[:0]
    return series[: int(np.flatnonzero(present)[-1]) + 1]


def refuse_empty(series: list[np.ndarray], what: str) -> None:
    """A series without a single step cannot be learnt from or padded; say which."""
    empty = [i for i, one in enumerate(series) if len(one) == 0]
    if empty:
        raise DataError(
            f"{what}: {len(empty)} series have no values (e.g. number {empty[0] + 1}); drop them."
        )


def describe_lengths(series: list[np.ndarray]) -> str:
    lengths = [len(s) for s in series]
    low, high = min(lengths), max(lengths)
    width = series[0].shape[1]
    shape = f"length {low}" if low == high else f"lengths {low}-{high}"
    return f"{count_text(len(series))} series, {shape}, {width} feature{'s' * (width > 1)}"


# ----------------------------------------------------------------------------- tables


def is_time_name(name: str) -> bool:
    return name.strip().lower() in TIME_COLUMN_NAMES


def is_id_name(name: str) -> bool:
    lower = name.strip().lower()
    return lower in ID_COLUMN_NAMES or lower.endswith("_id")


def find_long_columns(frame: pd.DataFrame) -> tuple[str, str] | None:
    """(id column, time column) when the table is long: ids that repeat, each id with distinct
    times (a panel with several rows per id and time is a table, not series)."""
    ids = [c for c in frame.columns if is_id_name(c)]
    times = [c for c in frame.columns if is_time_name(c)]
    if len(ids) != 1 or len(times) != 1:
        return None
    n_ids = frame[ids[0]].nunique()
    if n_ids < 2 or n_ids > len(frame) / 2 or frame.duplicated([ids[0], times[0]]).any():
        return None
    return ids[0], times[0]


def is_wide(columns: list[str]) -> bool:
    """True when at least 10 column names count time: t0, t1, ... (or step_1, ...) in
    consecutive order, or dates."""
    if len(columns) < MIN_WIDE_COLUMNS:
        return False
    match = [re.fullmatch(r"([A-Za-z_]+?)(\d+)", c.strip()) for c in columns]
    if all(match) and {m.group(1).lower() for m in match} <= set(WIDE_PREFIXES):
        if len({m.group(1).lower() for m in match}) == 1:
            steps = np.asarray([int(m.group(2)) for m in match])
            return bool((np.diff(steps) == 1).all())
        return False
    if any(c.strip().lstrip("-").replace(".", "").isdigit() for c in columns):
        return False  # plain numbers are feature indices (a DataFrame of an array)
    dates = pd.to_datetime(pd.Series(columns), errors="coerce", format="mixed")
    return bool(dates.notna().all() and dates.is_monotonic_increasing)


def long_to_series(
    frame: pd.DataFrame, id_col: str, time_col: str, value_cols: list[str]
) -> tuple[list[np.ndarray], list[str]]:
    """Group a long table into one (T_i, F) series per id, ordered by time (dates as dates)."""
    times = parse_times(frame[time_col])
    if times is None:
        raise DataError(f"The time column '{time_col}' holds neither numbers nor dates.")
    ordered = frame.assign(_time=times).sort_values([id_col, "_time"], kind="stable")
    groups = ordered.groupby(id_col, sort=False)
    series = [g[value_cols].to_numpy(dtype=np.float32) for _, g in groups]
    return series, [str(k) for k in groups.groups.keys()]


def parse_times(values: pd.Series) -> pd.Series | None:
    """Dates or increasing numbers (years, steps) that order a series; None if neither."""
    if pd.api.types.is_numeric_dtype(values):
        return values if values.notna().all() else None
    parsed = pd.to_datetime(values, errors="coerce", format="mixed")
    if parsed.notna().mean() < 0.95:
        return None
    return parsed
