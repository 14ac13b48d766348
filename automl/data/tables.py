"""Tables, once read (`table_files`), and what their columns make them.

A table is usually a table (features and a target column), but its columns can also say it
holds one series per row (wide), many series as id/time/value rows (long), one dated series to
forecast (with a horizon), or one free-text column (documents). The rules are the named
functions below, applied in that order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from automl.data import series as series_rules
from automl.data.dataset import Dataset, as_label_array, count_text, label_missing
from automl.data.text import is_free_text
from automl.errors import DataError

# When --target is omitted, a column with one of these names (any case) is the target.
TARGET_COLUMN_NAMES = ("target", "label", "labels", "class", "y")


def resolve_target(columns: Sequence[Any], target: str | None) -> tuple[str | None, str | None]:
    """The target column: the one named by --target, else the one named like a target, else
    none (unlabelled). Returns (column or None, a note saying what was guessed)."""
    names = [str(c) for c in columns]
    shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    if target is not None:
        if target not in names:
            raise DataError(f"The target column '{target}' is not in the table; columns: {shown}.")
        return target, None
    matches = [c for c in names if c.strip().lower() in TARGET_COLUMN_NAMES]
    if len(matches) == 1:
        return matches[0], f"target column '{matches[0]}' chosen by its name; --target overrides"
    if len(matches) > 1:
        raise DataError(
            f"The target column is ambiguous ({', '.join(matches)} all look like targets); "
            "pass --target COL."
        )
    return None, (
        f"no column is named {'/'.join(TARGET_COLUMN_NAMES)}, so the table is read as "
        "unlabelled; pass --target COL to learn a label"
    )


def interpret_table(
    df: pd.DataFrame,
    target: str | None,
    name: str,
    label: str,
    horizon: int | None = None,
) -> Dataset:
    """Decide what a table holds (see the module doc) and build the Dataset."""
    if horizon is not None:
        return dated_series(df, target, horizon, name, label)
    column, note = resolve_target(df.columns, target)
    notes = [note] if note else []
    features = [c for c in df.columns if c != column]
    if not features:
        raise DataError(f"The table has no feature columns besides the target '{column}'.")
    long = series_rules.find_long_columns(df[features])
    if long is not None and _one_label_per_id(df, long[0], column):
        return _long_series(df, column, long, name, label, notes)
    if series_rules.is_wide(features) and all(
        pd.api.types.is_numeric_dtype(df[c]) for c in features
    ):
        return _wide_series(df, column, features, name, label, notes)
    df, y, dropped = _labels(df, column)
    notes += dropped
    if len(features) == 1 and is_free_text(df[features[0]]):
        docs = df[features[0]].fillna("").astype(str).tolist()
        return Dataset(
            modality="text",
            X=docs,
            y=y,
            name=name,
            evidence=f"{label}: {count_text(len(docs))} documents in column '{features[0]}'",
            target_name=column,
            notes=notes,
            ids=[str(i) for i in range(len(docs))],
            source={"format": "text_column", "column": features[0]},
        )
    X = df[features].reset_index(drop=True)
    return Dataset(
        modality="table",
        X=X,
        y=y,
        name=name,
        evidence=f"{label}: {count_text(len(X))} rows x {X.shape[1]} feature columns",
        target_name=column,
        notes=notes,
        ids=[str(i) for i in range(len(X))],
        source={"format": "table", "columns": features},
    )


def _labels(df: pd.DataFrame, column: str | None) -> tuple[pd.DataFrame, Any, list[str]]:
    """Labels of the target column; rows whose label is missing are dropped and counted."""
    if column is None:
        return df, None, []
    y = df[column]
    missing = label_missing(as_label_array(y.to_numpy()))
    if missing.all():
        raise DataError(f"The target column '{column}' has no values.")
    notes = []
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows whose target '{column}' is missing")
        df, y = df.loc[~missing], y.loc[~missing]
        if pd.api.types.is_float_dtype(y) and (y == y.round()).all():
            y = y.astype(np.int64)  # the gaps had made whole-number labels float
    return df, as_label_array(y.to_numpy()), notes


def _wide_series(
    df: pd.DataFrame,
    column: str | None,
    features: list[str],
    name: str,
    label: str,
    notes: list[str],
) -> Dataset:
    df, y, dropped = _labels(df, column)
    series = series_rules.series_from_array(numeric_values(df[features]))
    series_rules.refuse_empty(series, f"{label} (one series per row)")
    return Dataset(
        modality="series",
        X=series,
        y=y,
        name=name,
        evidence=f"{label}: a wide table of {series_rules.describe_lengths(series)} "
        f"(columns {features[0]}..{features[-1]} count time)",
        target_name=column,
        notes=notes + dropped,
        ids=[str(i) for i in range(len(series))],
        source={"format": "wide_table", "columns": features},
    )


def _long_series(
    df: pd.DataFrame,
    column: str | None,
    long: tuple[str, str],
    name: str,
    label: str,
    notes: list[str],
) -> Dataset:
    id_col, time_col = long
    values = [
        c
        for c in df.columns
        if c not in (id_col, time_col, column) and pd.api.types.is_numeric_dtype(df[c])
    ]
    if not values:
        raise DataError(
            f"The long table (ids in '{id_col}', times in '{time_col}') has no numeric value "
            "column."
        )
    series, ids = long_table_series(df, id_col, time_col, values)
    y = None
    if column is not None:
        first = df.groupby(id_col, sort=False)[column].first()
        first.index = first.index.astype(str)  # the ids as long_table_series names them
        y = as_label_array(first.loc[ids].to_numpy())
        if label_missing(y).any():
            raise DataError(f"Some series have no '{column}' label; fill them in or drop them.")
    return Dataset(
        modality="series",
        X=series,
        y=y,
        name=name,
        evidence=f"{label}: a long table of {series_rules.describe_lengths(series)} "
        f"(ids '{id_col}', time '{time_col}')",
        target_name=column,
        notes=notes,
        ids=ids,
        source={"format": "long_table", "id": id_col, "time": time_col, "columns": values},
    )


def long_table_series(
    df: pd.DataFrame, id_col: str, time_col: str, values: list[str]
) -> tuple[list[np.ndarray], list[str]]:
    missing = [c for c in (id_col, time_col, *values) if c not in df.columns]
    if missing:
        raise DataError(f"The long table lacks the column(s) {', '.join(missing)}.")
    numeric_values(df[values])  # a clear error for a cell that is not a number
    return series_rules.long_to_series(df, id_col, time_col, values)


def _one_label_per_id(df: pd.DataFrame, id_col: str, column: str | None) -> bool:
    """A long table labels whole series; a label that changes within an id makes it a table
    of rows (a panel: store_id, day, sales)."""
    return column is None or not (df.groupby(id_col)[column].nunique(dropna=False) > 1).any()


def dated_series(
    df: pd.DataFrame, target: str | None, horizon: int, name: str, label: str
) -> Dataset:
    """Series ordered by a time column, to forecast `horizon` steps ahead: one series, or one
    per value of an id column (a long table: store_id, date, sales)."""
    if horizon < 1:
        raise DataError(f"--horizon must be a positive number of steps; got {horizon}.")
    time_col = dated_time_column(df)
    id_col = forecast_id_column(df, time_col, target)
    numeric = [
        c
        for c in df.columns
        if c not in (time_col, id_col) and pd.api.types.is_numeric_dtype(df[c])
    ]
    if target is None:
        if len(numeric) != 1:
            raise DataError(
                f"Cannot tell which column to forecast ({', '.join(numeric) or 'none numeric'}); "
                "pass --target COL."
            )
        target = numeric[0]
    elif target not in numeric:
        raise DataError(f"The column to forecast, '{target}', is not a numeric column.")
    columns = [target] + [c for c in numeric if c != target]  # the forecast column first
    ids, times, series, notes = read_dated(df, time_col, columns, id_col)
    ahead = f"forecasting '{target}' {horizon} step{'s' * (horizon > 1)} ahead"
    if id_col is None:
        what = f"one series of {count_text(len(series[0]))} steps"
    else:
        lengths = [len(s) for s in series]
        what = (
            f"{count_text(len(series))} series (one per '{id_col}') of "
            f"{min(lengths)}-{max(lengths)} steps"
        )
    return Dataset(
        modality="series",
        X=series,
        y=None,
        name=name,
        evidence=f"{label}: {what} ordered by '{time_col}', {ahead}",
        target_name=target,
        notes=notes,
        ids=ids,
        times=times,
        source={"format": "dated_table", "time": time_col, "columns": columns, "id": id_col},
        horizon=horizon,
    )


def forecast_id_column(df: pd.DataFrame, time_col: str, target: str | None) -> str | None:
    """The column naming each series of a long table (id, series_id, store_id, ...), if any."""
    named = [
        c for c in df.columns if series_rules.is_id_name(str(c)) and c not in (time_col, target)
    ]
    if len(named) > 1:
        raise DataError(
            f"Several columns look like series ids ({', '.join(map(str, named))}); keep one."
        )
    return named[0] if named else None


def read_dated(
    df: pd.DataFrame, time_col: str, columns: list[str], id_col: str | None
) -> tuple[list[str], list[list[str]], list[np.ndarray], list[str]]:
    """(ids, times per series, values (T_i, F) per series, notes) of one dated series or of a
    long table's series, each in time order."""
    if id_col is None:
        times, values, notes = order_dated(df, time_col, columns)
        return [str(columns[0])], [times], [values], notes
    if id_col not in df.columns:
        raise DataError(f"The table lacks the id column '{id_col}' of its series.")
    ids, times, series, notes = [], [], [], []
    unnamed = int(df[id_col].isna().sum())
    if unnamed:
        notes.append(f"dropped {unnamed} rows without a '{id_col}'")
    for key, group in df.groupby(id_col, sort=False):
        group_times, values, dropped = order_dated(group, time_col, columns)
        ids.append(str(key))
        times.append(group_times)
        series.append(values)
        notes += [f"series {key}: {note}" for note in dropped]
    return ids, times, series, notes


def order_dated(
    df: pd.DataFrame, time_col: str, columns: list[str]
) -> tuple[list[str], np.ndarray, list[str]]:
    """The rows of a dated series in time order: (times, values (T, F), notes).

    Rows whose time does not parse are dropped and counted (placed anywhere, they would corrupt
    the most recent window); two rows at one time are an error, since they are not one series.
    """
    missing = [c for c in (time_col, *columns) if c not in df.columns]
    if missing:
        raise DataError(f"The table lacks the column(s) {', '.join(missing)} of the series.")
    times = series_rules.parse_times(df[time_col])
    if times is None:
        raise DataError(f"The time column '{time_col}' holds neither numbers nor dates.")
    notes = []
    unparsed = times.isna()
    if unparsed.any():
        notes.append(f"dropped {int(unparsed.sum())} rows whose '{time_col}' is not a time")
    frame = df.loc[~unparsed].assign(_time=times[~unparsed])
    duplicated = frame["_time"].duplicated()
    if duplicated.any():
        raise DataError(
            f"'{time_col}' repeats {frame.loc[duplicated, time_col].iloc[0]!r}: one series has "
            "one row per time. Several series belong in a long table with an id column "
            "(named id, series_id or ..._id)."
        )
    ordered = frame.sort_values("_time", kind="stable")
    return _time_texts(ordered[time_col]), numeric_values(ordered[columns]), notes


def _time_texts(times: pd.Series) -> list[str]:
    """Times as the file wrote them; dates (read as dates) as 2021-03-04, with the time of day
    only where one is given."""
    if not pd.api.types.is_datetime64_any_dtype(times):
        return [str(v) for v in times]
    midnight = (times.dt.normalize() == times).all()
    return [v.strftime("%Y-%m-%d") if midnight else v.isoformat() for v in times]


def numeric_values(frame: pd.DataFrame) -> np.ndarray:
    """float32 values of series columns; a cell that is not a number is a DataError."""
    try:
        return frame.to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The series columns {', '.join(map(str, frame.columns[:5]))} must hold numbers: {exc}"
        ) from exc


def dated_time_column(df: pd.DataFrame) -> str:
    """The column that orders a dated series: a date column, or one named like time."""
    named = [c for c in df.columns if series_rules.is_time_name(c)]
    dated = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    for column in dated + named + list(df.columns):
        if not pd.api.types.is_numeric_dtype(df[column]) or column in named:
            if series_rules.parse_times(df[column]) is not None:
                return column
    raise DataError(
        "Forecasting (--horizon) needs a time column (dates, or one named "
        f"{'/'.join(series_rules.TIME_COLUMN_NAMES[:6])}...); none was found."
    )
