"""Preprocessing fitted on the training split only (the label list on all labels, so every
class has an output), stored as plain JSON in the bundle.

One class per modality, each with the same surface (fit on the training part, transform,
input_shape, describe: the steps in words for a program outside Python, beside the code that
does them, notes, to_dict / from_dict): `TablePreprocessor`, `ImagePreprocessor`,
`TextPreprocessor`, `SeriesPreprocessor`, `AudioPreprocessor`, `ForecastPreprocessor`; and
`TargetEncoder` for the labels. `Preprocessing` pairs one of them with the target encoder.

Every fitted value is a number or a string, so a bundle never needs unpickling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.preprocessing.forecast import ForecastPreprocessor, forecast_window
from automl.preprocessing.image import ImagePreprocessor
from automl.preprocessing.series import AudioPreprocessor, SeriesPreprocessor
from automl.preprocessing.table import TablePreprocessor
from automl.preprocessing.target import TargetEncoder
from automl.preprocessing.text import TextPreprocessor, TreePreprocessor
from automl.task_info import TaskInfo

__all__ = [
    "AudioPreprocessor",
    "ForecastPreprocessor",
    "ImagePreprocessor",
    "Preprocessing",
    "SeriesPreprocessor",
    "TablePreprocessor",
    "TargetEncoder",
    "TextPreprocessor",
    "TreePreprocessor",
    "forecast_window",
]

InputPreprocessor = (
    TablePreprocessor
    | ImagePreprocessor
    | TextPreprocessor
    | TreePreprocessor
    | SeriesPreprocessor
    | AudioPreprocessor
    | ForecastPreprocessor
)
# In the bundle JSON's order: each kind under its own key, the others null.
KINDS: dict[str, type] = {
    cls.KEY: cls
    for cls in (
        TablePreprocessor,
        ImagePreprocessor,
        TextPreprocessor,
        TreePreprocessor,
        SeriesPreprocessor,
        AudioPreprocessor,
        ForecastPreprocessor,
    )
}
BY_MODALITY = {
    "table": TablePreprocessor,
    "image": ImagePreprocessor,
    "text": TextPreprocessor,
    "audio": AudioPreprocessor,
    "series": SeriesPreprocessor,
}


@dataclass
class Preprocessing:
    """Everything needed to turn raw data into model inputs and outputs into predictions."""

    modality: str
    target: TargetEncoder
    inputs: InputPreprocessor

    @classmethod
    def fit(cls, dataset: Dataset, task: TaskInfo, rows: np.ndarray) -> Preprocessing:
        """Fit on the training rows (a forecast's preprocessing is fitted by
        automl.prepare, which cuts the series into windows)."""
        # every class gets an output (labels from all rows); a numeric target is scaled by the
        # training rows only
        labels = dataset.y
        if not task.is_classification and labels is not None:
            labels = labels[rows]
        target = TargetEncoder.fit(labels, task)
        if dataset.has_trees:  # node labels take the classes' indices
            inputs = TreePreprocessor.fit_trees(dataset.subset(rows).X, target.classes or [])
        else:
            inputs = BY_MODALITY[dataset.modality].from_training(dataset.subset(rows), task)
        return cls(dataset.modality, target, inputs)

    def transform(self, X: Any) -> np.ndarray:
        """Model inputs: float32 arrays, or int64 token ids for labelled text."""
        return self.inputs.transform(X)

    def input_shape(self) -> tuple[int, ...]:
        return self.inputs.input_shape()

    @property
    def vocab_size(self) -> int | None:
        return self.inputs.vocab_size

    @property
    def tree_leaves(self) -> int | None:
        return self.inputs.tree_leaves

    def describe(self) -> list[str]:
        """The steps from raw data to the network's input, in words, for a program outside
        Python; every number they name is under `preprocessing` in the bundle JSON."""
        return self.inputs.describe()

    def to_dict(self) -> dict[str, Any]:
        kinds = {key: None for key in KINDS}
        kinds[self.inputs.KEY] = self.inputs.to_dict()
        return {"modality": self.modality, "target": asdict(self.target), **kinds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        key = next(key for key in KINDS if data.get(key))
        return cls(
            data["modality"], TargetEncoder(**data["target"]), KINDS[key].from_dict(data[key])
        )
