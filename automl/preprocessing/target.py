"""Labels to model targets and model outputs back to predictions: class names to indices;
regression and forecast targets standardised by the training rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.task_info import TaskInfo


@dataclass
class TargetEncoder:
    classes: list[Any] | None = None  # classification: index -> label
    mean: float = 0.0  # regression and forecasting: standardisation of y
    std: float = 1.0
    kind: str = "class"  # class / value / forecast / none

    @classmethod
    def fit(cls, y: np.ndarray | None, task: TaskInfo) -> TargetEncoder:
        if task.is_classification:
            return cls(classes=[_plain(v) for v in np.unique(y)])
        if task.target_kind == "none":
            return cls(kind="none")
        values = y.astype(np.float64)
        std = float(values.std())
        kind = "forecast" if task.target_kind == "forecasting" else "value"
        return cls(mean=float(values.mean()), std=std if std > 1e-12 else 1.0, kind=kind)

    def encode(self, y: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return ((y.astype(np.float64) - self.mean) / self.std).astype(np.float32)
        index = {c: i for i, c in enumerate(self.classes)}
        return np.asarray([index[_plain(v)] for v in y], dtype=np.int64)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """Class labels from logits; regression values (n,) or forecasts (n, horizon)."""
        if self.kind == "forecast":
            return outputs.astype(np.float64) * self.std + self.mean
        if self.classes is None:
            return outputs.reshape(-1).astype(np.float64) * self.std + self.mean
        labels = np.asarray(self.classes, dtype=object)[outputs.argmax(axis=1)]
        return labels.astype(type(self.classes[0])) if _uniform(self.classes) else labels

    def describe_outputs(self, task: TaskInfo) -> str:
        """How a program outside Python turns the graph's outputs into predictions."""
        if task.target_kind == "none":
            return (
                "reconstruction has the input's shape; anomaly_score = mean over a sample's "
                "values of (reconstruction - input)^2 (higher is more unusual); codes are the "
                "learnt features."
            )
        if self.classes is not None:
            return (
                "output holds log class probabilities: probabilities = softmax(output); the "
                "label is label_names[argmax(output)]."
            )
        if task.forecast is not None:
            levels = ", ".join(f"{q:g}" for q in task.forecast["quantiles"])
            return (
                "output is (n, horizon, quantiles): each step's forecast at the quantile levels "
                f"{levels} (the median is the point forecast), in units of the series' scale: "
                "widen each quantile's distance from the median by forecast.interval_scale "
                "(calibrated on the backtests: one factor, or a list of one per step), then "
                "multiply by forecast.scales[id] (the scale preprocessing divided by)."
            )
        what = "the next horizon values" if task.target_kind == "forecasting" else "the value"
        return f"{what} = output * {self.std!r} + {self.mean!r} (preprocessing.target)."


def _plain(value: Any) -> Any:
    """numpy scalars to Python scalars, so labels survive JSON unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def _uniform(values: list[Any]) -> bool:
    return len({type(v) for v in values}) == 1 and isinstance(values[0], int | float | str)
