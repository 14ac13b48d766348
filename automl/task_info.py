"""TaskInfo: what the data is and what will be searched, as every later stage reads it.

Its own module, below the families and the task detector: search spaces, the trainer and the
bundle read a TaskInfo without importing the detector (which imports the family registry).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

TargetKind = Literal["binary", "multiclass", "regression", "forecasting", "none"]


@dataclass(frozen=True)
class TaskInfo:
    """What the data is and what will be searched, with the reason in words.

    >>> info = detect_task(dataset)             # doctest: +SKIP
    >>> info.row, info.families, info.reason    # doctest: +SKIP
    ('image_recognition', ('cnn',), '1 797 PNG files in 10 class folders -> ...')
    """

    modality: str
    target_kind: TargetKind
    row: str
    families: tuple[str, ...]
    reason: str
    n_samples: int
    data_shape: tuple[int, ...]
    n_classes: int | None = None
    class_counts: dict[str, int] = field(default_factory=dict)
    unavailable_families: tuple[str, ...] = ()
    input_shape: tuple[int, ...] = ()  # the model's input per sample, set once preprocessing is fit
    vocab_size: int | None = None  # text: token ids run from 0 (padding) to vocab_size - 1
    # parse trees: a row is L leaf ids then the tree (automl.data.trees); None for other data
    tree_leaves: int | None = None
    horizon: int | None = None  # forecasting: steps predicted at once
    labelled: bool = True
    # (min, max) of the model inputs over the training rows: Bernoulli units of RBMs need [0, 1]
    input_range: tuple[float, float] | None = None
    code_size: int | None = None  # unlabelled data: the code width the user asked for
    # photos padded whole to the working side: the (height, width) of content, centred, that
    # a network may crop instead (automl.layers.image_fits); None when crop or pad is not searched
    image_content: tuple[int, int] | None = None
    # forecasting (not in 0.2.0's): period, quantiles, positive, boxcox_lambda, levels (the
    # training values' mean and spread under each transform), baselines (validation MASE of
    # the naive forecasts): what automl.forecaster reads
    forecast: dict[str, Any] | None = None

    @property
    def is_classification(self) -> bool:
        return self.target_kind in ("binary", "multiclass")

    @property
    def output_dim(self) -> int:
        """Logits per class; one value (regression); `horizon` values (forecasting); the whole
        input again (unlabelled data is learnt by reconstructing it)."""
        if self.is_classification:
            return int(self.n_classes)
        if self.target_kind == "forecasting":
            return int(self.horizon) * len((self.forecast or {}).get("quantiles", [0.5]))
        if self.target_kind == "none":
            return int(np.prod(self.input_shape))
        return 1

    @property
    def metric(self) -> str:
        """The validation score maximised by the search: accuracy; R^2 for regression (and
        0.2.0's forecasts); minus the MASE of forecasts; minus the reconstruction MSE per
        feature for unlabelled data."""
        if self.is_classification:
            return "accuracy"
        if self.forecast is not None:
            return "neg_mase"
        return "neg_mse" if self.target_kind == "none" else "r2"

    def with_inputs(
        self,
        shape: tuple[int, ...],
        vocab_size: int | None = None,
        input_range: tuple[float, float] | None = None,
        tree_leaves: int | None = None,
    ) -> TaskInfo:
        return dataclasses.replace(
            self,
            input_shape=tuple(int(s) for s in shape),
            vocab_size=vocab_size,
            tree_leaves=tree_leaves,
            input_range=None if input_range is None else tuple(float(v) for v in input_range),
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskInfo:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        for key in ("families", "data_shape", "unavailable_families", "input_shape"):
            values[key] = tuple(values.get(key, ()))
        for key in ("input_range", "image_content"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)
