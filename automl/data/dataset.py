"""The `Dataset` every loader returns, and the label helpers they share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

Modality = Literal["table", "image", "text", "audio", "series"]
MODALITIES: tuple[str, ...] = ("table", "image", "text", "audio", "series")


@dataclass
class Dataset:
    """Raw features (and labels, when there are any) plus what the loader saw.

    X by modality: a DataFrame (table); float32 (n, H, W, C) (image); a list of strings (text);
    a list of 1-D float32 waveforms at `sample_rate` (audio); a list of float32 (T_i, F) arrays,
    NaN where a value is missing (series). A forecasting dataset has `horizon`, one series
    per id (`ids`) and their `times`.

    `evidence` is the loader's account in words ("1 797 PNG files in 10 class folders");
    `notes` lists the recoverable oddities it handled (resized images, skipped files, dropped
    rows); `split` marks rows of given train/val/test folders; `source` says how the data was
    read, so new data for prediction is read the same way.
    """

    modality: Modality
    X: Any
    y: np.ndarray | None
    name: str
    evidence: str
    target_name: str | None = None
    notes: list[str] = field(default_factory=list)
    ids: list[str] | None = None  # file names or row numbers, one per sample
    split: np.ndarray | None = None  # "train" / "val" / "test" per sample, from split folders
    source: dict[str, Any] = field(default_factory=dict)
    sample_rate: int | None = None  # audio
    horizon: int | None = None  # forecasting: how many future steps to predict
    times: list[list[str]] | None = None  # forecasting: each series' times, as the file wrote them

    def __len__(self) -> int:
        return len(self.X)

    @property
    def labelled(self) -> bool:
        return self.y is not None

    @property
    def has_trees(self) -> bool:
        """Sentences with parse trees (automl.data.trees), read from tree files."""
        return self.source.get("format") == "trees"

    @property
    def data_shape(self) -> tuple[int, ...]:
        """(n, ...) as far as it is fixed: (n, T_max, F) for series, (n,) for text and audio."""
        if self.modality == "series":
            longest = max((len(s) for s in self.X), default=0)
            width = self.X[0].shape[1] if len(self.X) else 0
            return (len(self.X), int(longest), int(width))
        if self.modality in ("text", "audio"):
            return (len(self.X),)
        return tuple(int(s) for s in np.shape(self.X))

    def subset(self, rows: np.ndarray) -> Dataset:
        """The same dataset restricted to some rows (a split's part)."""
        rows = np.asarray(rows)
        if isinstance(self.X, pd.DataFrame):
            X: Any = self.X.iloc[rows].reset_index(drop=True)
        elif isinstance(self.X, np.ndarray):
            X = self.X[rows]
        else:
            X = [self.X[i] for i in rows]
        return Dataset(
            modality=self.modality,
            X=X,
            y=None if self.y is None else self.y[rows],
            name=self.name,
            evidence=self.evidence,
            target_name=self.target_name,
            notes=list(self.notes),
            ids=None if self.ids is None else [self.ids[i] for i in rows],
            split=None if self.split is None else self.split[rows],
            source=dict(self.source),
            sample_rate=self.sample_rate,
            horizon=self.horizon,
            times=None if self.times is None else [self.times[i] for i in rows],
        )


def count_text(n: int) -> str:
    """1797 -> '1 797': the thin-space grouping used in every message."""
    return f"{n:,}".replace(",", " ")


def as_label_array(y: Any) -> np.ndarray:
    """Labels as a plain 1-D numpy array: numbers stay numbers, everything else is object."""
    y = np.asarray(y)
    if y.dtype.kind in "biuf":
        return y
    if y.dtype.kind in "US":
        return y.astype(object)
    if y.dtype == object:
        if all(_is_number(v) for v in y):
            return y.astype(np.float64)
        if len({type(v) for v in y if not pd.isna(v)}) > 1:
            # mixed kinds (1 and "a", True and "b") cannot be sorted: compare them as text
            return np.asarray([v if pd.isna(v) else str(v) for v in y], dtype=object)
        return y
    return y.astype(object)


def label_missing(y: np.ndarray) -> np.ndarray:
    """A boolean mask of missing labels (None, NaN, NaT)."""
    if y.dtype == object:
        return np.asarray(pd.isna(y), dtype=bool)
    if y.dtype.kind == "f":
        return np.isnan(y)
    return np.zeros(len(y), dtype=bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
