"""Tables: numbers, dates, categories and free-text columns to one vector per row."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl.data import Dataset
from automl.data.text import is_free_text
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.preprocessing.text import TOKENS_IN_WORDS, bag_of_words, top_words
from automl.task_info import TaskInfo

MAX_CATEGORIES = 50  # per column; rarer values share the "other" slot
MAX_COLUMN_WORDS = 100  # per free-text column of a table


@dataclass
class TablePreprocessor(ModalityPreprocessor):
    """Numeric and date columns imputed with the median (plus a missing-value indicator where
    the training data had gaps; infinities count as gaps) and standardised; categorical
    columns one-hot over their most frequent values, with one slot for anything else;
    free-text columns as log word counts over their most frequent words."""

    KEY = "table"
    numeric: dict[str, dict[str, float]] = field(default_factory=dict)  # col -> median/mean/std
    missing_indicators: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # col -> kept values
    text: dict[str, list[str]] = field(default_factory=dict)  # free-text col -> its words
    columns: list[str] = field(default_factory=list)

    @classmethod
    def from_training(cls, part: Dataset, task: TaskInfo) -> TablePreprocessor:
        return cls.fit(part.X)

    @classmethod
    def fit(cls, frame: pd.DataFrame) -> TablePreprocessor:
        pre = cls(columns=[str(c) for c in frame.columns])
        for col in frame.columns:
            series = frame[col]
            if _is_numeric(series):
                values = _numeric_values(series)
                median = float(values.median()) if values.notna().any() else 0.0
                filled = values.fillna(median)
                std = float(filled.std(ddof=0))
                pre.numeric[col] = {
                    "median": median,
                    "mean": float(filled.mean()),
                    "std": std if std > 1e-12 else 1.0,
                }
                if values.isna().any():
                    pre.missing_indicators.append(col)
            elif is_free_text(series):
                pre.text[col] = top_words(series.dropna().astype(str), MAX_COLUMN_WORDS, 1)
            else:
                counts = series.dropna().astype(str).value_counts()
                pre.categorical[col] = [str(v) for v in counts.index[:MAX_CATEGORIES]]
        return pre

    @property
    def n_features(self) -> int:
        return (
            len(self.numeric)
            + len(self.missing_indicators)
            + sum(len(v) + 1 for v in self.categorical.values())
            + sum(len(v) for v in self.text.values())
        )

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        absent = [c for c in self.columns if c not in frame.columns]
        if absent:
            raise DataError(
                f"The data lacks {len(absent)} column(s) the model was trained on: "
                f"{', '.join(absent[:8])}; pass a table with the same columns."
            )
        parts: list[np.ndarray] = []
        for col, stats in self.numeric.items():
            values = _numeric_values(frame[col])
            filled = values.fillna(stats["median"]).to_numpy()
            parts.append(((filled - stats["mean"]) / stats["std"])[:, None])
        for col in self.missing_indicators:
            parts.append(_numeric_values(frame[col]).isna().to_numpy(dtype=np.float64)[:, None])
        for col, kept in self.categorical.items():
            index = {v: i for i, v in enumerate(kept)}
            codes = [index.get(str(v), len(kept)) if pd.notna(v) else len(kept) for v in frame[col]]
            onehot = np.zeros((len(frame), len(kept) + 1))
            onehot[np.arange(len(frame)), codes] = 1.0
            parts.append(onehot)
        for col, words in self.text.items():
            parts.append(bag_of_words(frame[col].fillna("").astype(str).tolist(), words))
        return (
            np.hstack(parts).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)
        )

    def inverse_transform(self, inputs: np.ndarray) -> pd.DataFrame:
        """(n, features) -> a table with the training columns: numbers (dates as days since
        1970) unstandardised; a category as its block's largest slot (None for the "other"
        slot); free-text columns, which a bag of words cannot give back, as None."""
        inputs = inputs.reshape(len(inputs), -1)
        frame = pd.DataFrame(index=range(len(inputs)), columns=self.columns, dtype=object)
        at = 0
        for col, stats in self.numeric.items():
            frame[col] = inputs[:, at] * stats["std"] + stats["mean"]
            at += 1
        at += len(self.missing_indicators)
        for col, kept in self.categorical.items():
            slots = inputs[:, at : at + len(kept) + 1].argmax(axis=1)
            frame[col] = [kept[i] if i < len(kept) else None for i in slots]
            at += len(kept) + 1
        return frame

    def input_shape(self) -> tuple[int, ...]:
        return (self.n_features,)

    def describe(self) -> list[str]:
        return [
            "columns are read by name (table.columns lists the training columns)",
            "numeric and date columns (table.numeric; a date as days since 1970-01-01 UTC): a "
            "missing value becomes median, then (value - mean) / std",
            "table.missing_indicators: 1.0 where that column's value is missing, else 0.0",
            "table.categorical: one-hot over the listed values, plus a last slot for any other "
            "value or a missing one",
            f"table.text: {TOKENS_IN_WORDS}; log(1 + count) of each listed word",
            "the input concatenates, in this order: the numeric columns, the missing "
            "indicators, the one-hot blocks, the word counts",
        ]


def _is_numeric(series: pd.Series) -> bool:
    """Numbers and dates are scaled; booleans, strings and categories are one-hot encoded."""
    if pd.api.types.is_bool_dtype(series):
        return False
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)


def _numeric_values(series: pd.Series) -> pd.Series:
    """Floats with inf treated as missing; dates as days since 1970."""
    if pd.api.types.is_datetime64_any_dtype(series):
        dates = pd.to_datetime(series, errors="coerce")
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_convert(None)
        days = (dates - pd.Timestamp(0)) / pd.Timedelta(days=1)
        return days.astype(float)
    values = pd.to_numeric(series, errors="coerce").astype(float)
    return values.where(np.isfinite(values))
