"""What a search run is given: the prepared arrays and the run's settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from automl.task_info import TaskInfo
from automl.trainer import Split, to_tensors


@dataclass(frozen=True)
class SearchData:
    """Preprocessed arrays, put in Ray's object store once and shared by every trial.

    Cross-validated (`folds` given, see automl.selection), the training and validation arrays
    are the same rows, every one of them validated once, by the network of its own fold.
    """

    X_train: np.ndarray
    y_train: np.ndarray | None  # None for unlabelled data, which is its own target
    X_val: np.ndarray
    y_val: np.ndarray | None
    folds: np.ndarray | None = None  # each row's fold; None: one validation split
    # rows only a refit on all rows learns from: a forecast's windows whose targets run into
    # the validation tail (a trial trained on them would have seen its validation values)
    X_refit: np.ndarray | None = None
    y_refit: np.ndarray | None = None

    @property
    def n_folds(self) -> int:
        return 1 if self.folds is None else int(self.folds.max()) + 1

    def tensors(self, task: TaskInfo) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """(train, val) as (features, targets) tensor pairs."""
        return (
            to_tensors(self.X_train, self.y_train, task),
            to_tensors(self.X_val, self.y_val, task),
        )

    def all_rows(self, task: TaskInfo) -> tuple[torch.Tensor, ...]:
        """Training, validation and refit-only rows as one (features, targets) pair."""
        parts = [*self.tensors(task)]
        if self.X_refit is not None:
            parts.append(to_tensors(self.X_refit, self.y_refit, task))
        return tuple(torch.cat(columns) for columns in zip(*parts, strict=True))

    def splits(self, task: TaskInfo) -> list[Split]:
        """What each network of a trial trains and validates on: one split, or k folds."""
        train, val = self.tensors(task)
        if self.folds is None:
            return [Split(train, val, torch.arange(len(val[0])))]
        folds = torch.from_numpy(self.folds)
        splits = []
        for fold in range(self.n_folds):
            held_out = torch.nonzero(folds == fold).flatten()
            kept = torch.nonzero(folds != fold).flatten()
            part = (tuple(t[kept] for t in train), tuple(t[held_out] for t in train))
            splits.append(Split(*part, held_out))
        return splits


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
