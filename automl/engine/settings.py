"""What a search run is given: the prepared arrays and the run's settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from automl.task_info import TaskInfo
from automl.trainer import to_tensors


@dataclass(frozen=True)
class SearchData:
    """Preprocessed arrays, put in Ray's object store once and shared by every trial."""

    X_train: np.ndarray
    y_train: np.ndarray | None  # None for unlabelled data, which is its own target
    X_val: np.ndarray
    y_val: np.ndarray | None

    def tensors(self, task: TaskInfo) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """(train, val) as (features, targets) tensor pairs."""
        return (
            to_tensors(self.X_train, self.y_train, task),
            to_tensors(self.X_val, self.y_val, task),
        )


@dataclass(frozen=True)
class SearchSettings:
    """One run's settings. Limits here are this run's: a resumed study's run gets what is left
    of the study's totals (see automl.study_run)."""

    max_epochs: int = 30
    patience: int = 8
    seed: int = 0
    cpus_per_trial: float = 1.0
    gpus_per_trial: float | None = None  # None: from the model size, when the cluster has GPUs
    concurrent_trials: int | None = None  # None: as many as the CPUs (or GPU shares) allow
    trial_timeout_s: float | None = None  # None: a quarter of the search, at least a minute
    run_max_trials: int | None = None  # trials to start in this run; None: until the deadline
    address: str | None = None  # None: a local Ray started (and stopped) for this search
