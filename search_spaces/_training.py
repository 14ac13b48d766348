"""The optimiser part of every family's space: optimiser, learning rate, schedule, batch, clip.

Names carry the family prefix (`mlp.train_lr`), so each family's optimiser settings are
modelled separately by the sampler: a good CNN learning rate says little about an MLP's.
"""

from __future__ import annotations

from typing import Any

import optuna

from automl.task import TaskInfo

BATCH_SIZES = (16, 32, 64, 128, 256)


def batch_size_choices(task: TaskInfo) -> tuple[int, ...]:
    """Batch sizes that leave at least ~8 steps per epoch on this data (FLAML-style bounds)."""
    fitting = tuple(b for b in BATCH_SIZES if b * 8 <= max(task.n_samples, 1))
    return fitting or BATCH_SIZES[:1]


def suggest_training(trial: optuna.Trial, family: str, task: TaskInfo) -> dict[str, Any]:
    p = f"{family}.train_"
    return {
        p + "optimizer": trial.suggest_categorical(p + "optimizer", ["adamw", "sgd"]),
        p + "lr": trial.suggest_float(p + "lr", 1e-4, 1e-1, log=True),
        p + "weight_decay": trial.suggest_float(p + "weight_decay", 1e-6, 1e-2, log=True),
        p + "batch_size": trial.suggest_categorical(
            p + "batch_size", list(batch_size_choices(task))
        ),
        p + "schedule": trial.suggest_categorical(p + "schedule", ["cosine", "constant"]),
        p + "grad_clip": trial.suggest_categorical(p + "grad_clip", [0.0, 1.0, 5.0]),
    }


def training_defaults(family: str, task: TaskInfo, lr: float = 2e-3) -> dict[str, Any]:
    """AdamW with a cosine schedule: the setting that most often works untouched."""
    choices = batch_size_choices(task)
    p = f"{family}.train_"
    return {
        p + "optimizer": "adamw",
        p + "lr": lr,
        p + "weight_decay": 1e-4,
        p + "batch_size": 64 if 64 in choices else choices[-1],
        p + "schedule": "cosine",
        p + "grad_clip": 0.0,
    }
