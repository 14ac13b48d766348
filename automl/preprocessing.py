"""Preprocessing fitted on the training split only (the label list on all labels, so every class
has an output), stored as plain JSON in the bundle.

Tables: numeric and date columns are imputed with the median (plus a missing-value indicator
where the training data had gaps; infinities count as gaps) and standardised; categorical columns are one-hot encoded over their
most frequent values, with one slot for anything else. Images: scaled to [0, 1] and standardised
per channel, channels first. Labels: class names to indices; regression targets standardised.
Every fitted value is a number or a string, so a bundle never needs unpickling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset
from automl.errors import DataError
from automl.task import TaskInfo

MAX_CATEGORIES = 50  # per column; rarer values share the "other" slot


@dataclass
class TablePreprocessor:
    numeric: dict[str, dict[str, float]] = field(default_factory=dict)  # col -> median/mean/std
    missing_indicators: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)  # col -> kept values
    columns: list[str] = field(default_factory=list)

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
        return (
            np.hstack(parts).astype(np.float32) if parts else np.zeros((len(frame), 0), np.float32)
        )


@dataclass
class ImagePreprocessor:
    height: int
    width: int
    channels: int
    scale: float  # divide by this to reach [0, 1]
    mean: list[float]
    std: list[float]

    @classmethod
    def fit(cls, images: np.ndarray) -> ImagePreprocessor:
        scale = 255.0 if float(images.max()) > 1.0 else 1.0
        scaled = images / scale
        std = scaled.std(axis=(0, 1, 2))
        return cls(
            height=int(images.shape[1]),
            width=int(images.shape[2]),
            channels=int(images.shape[3]),
            scale=scale,
            mean=[float(m) for m in scaled.mean(axis=(0, 1, 2))],
            std=[float(s) if s > 1e-6 else 1.0 for s in std],
        )

    def transform(self, images: np.ndarray) -> np.ndarray:
        expected = (self.height, self.width, self.channels)
        if tuple(images.shape[1:]) != expected:
            raise DataError(
                f"The model takes images of shape {expected} (H, W, C); got {tuple(images.shape[1:])}."
            )
        out = (images / self.scale - np.asarray(self.mean)) / np.asarray(self.std)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)


@dataclass
class TargetEncoder:
    classes: list[Any] | None = None  # classification: index -> label
    mean: float = 0.0  # regression: standardisation of y
    std: float = 1.0

    @classmethod
    def fit(cls, y: np.ndarray, task: TaskInfo) -> TargetEncoder:
        if task.is_classification:
            return cls(classes=[_plain(v) for v in np.unique(y)])
        values = y.astype(np.float64)
        std = float(values.std())
        return cls(mean=float(values.mean()), std=std if std > 1e-12 else 1.0)

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return ((y.astype(np.float64) - self.mean) / self.std).astype(np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([index[_plain(v)] for v in y], dtype=np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Class labels from logits, or regression values from standardised outputs."""
        if self.classes is None:
            return outputs.reshape(-1).astype(np.float64) * self.std + self.mean
        labels = np.asarray(self.classes, dtype=object)[outputs.argmax(axis=1)]
        return labels.astype(type(self.classes[0])) if _uniform(self.classes) else labels


@dataclass
class Preprocessing:
    """Everything needed to turn raw data into model inputs and outputs into predictions."""

    modality: str
    target: TargetEncoder
    table: TablePreprocessor | None = None
    image: ImagePreprocessor | None = None

    @classmethod
    def fit(cls, dataset: Dataset, task: TaskInfo, rows: np.ndarray) -> Preprocessing:
        target = TargetEncoder.fit(dataset.y, task)
        if dataset.modality == "table":
            return cls("table", target, table=TablePreprocessor.fit(dataset.X.iloc[rows]))
        return cls("image", target, image=ImagePreprocessor.fit(dataset.X[rows]))

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        if self.table is not None:
            return self.table.transform(X)
        return self.image.transform(X)

    def input_shape(self) -> tuple[int, ...]:
        if self.table is not None:
            return (self.table.n_features,)
        return (self.image.channels, self.image.height, self.image.width)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(
            modality=data["modality"],
            target=TargetEncoder(**data["target"]),
            table=TablePreprocessor(**data["table"]) if data.get("table") else None,
            image=ImagePreprocessor(**data["image"]) if data.get("image") else None,
        )


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


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so labels survive JSON unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _uniform(values: list[Any]) -> bool:
    return len({type(v) for v in values}) == 1 and isinstance(values[0], int | float | str)
