"""The optimiser part of every family's space: optimiser, learning rate, schedule, batch, clip.

Named `train_*` inside each family (`mlp.train_lr`), so each family's optimiser settings are
modelled separately by the sampler: a good CNN learning rate says little about an MLP's.
"""

from __future__ import annotations

from typing import Any

from automl.augment import augmentations
from automl.families import Hyperparameters
from automl.task_info import TaskInfo

BATCH_SIZES = (16, 32, 64, 128, 256)


def batch_size_choices(task: TaskInfo) -> tuple[int, ...]:
    """Batch sizes that leave at least ~8 steps per epoch on this data (FLAML-style bounds)."""
    fitting = tuple(b for b in BATCH_SIZES if b * 8 <= max(task.n_samples, 1))
    return fitting or BATCH_SIZES[:1]


def suggest_training(hp: Hyperparameters, task: TaskInfo, augment: bool = True) -> None:
    """`augment=False`: a network whose inputs are fixed features (nothing to augment)."""
    hp.categorical("train_optimizer", ["adamw", "sgd"])
    hp.float("train_lr", 1e-4, 1e-1, log=True)
    hp.float("train_weight_decay", 1e-6, 1e-2, log=True)
    hp.categorical("train_batch_size", batch_size_choices(task))
    hp.categorical("train_schedule", ["cosine", "constant"])
    hp.categorical("train_grad_clip", [0.0, 1.0, 5.0])
    choices = augmentation_choices(task)
    if augment and len(choices) > 1:
        hp.categorical("train_augment", choices)


def augmentation_choices(task: TaskInfo) -> tuple[str, ...]:
    """Augmentations offered: for labelled series and images (automl.augment); a forecast's
    windows and unlabelled data (which reconstructs its input) get none."""
    if not task.labelled or task.target_kind in ("forecasting", "none"):
        return ("none",)
    return augmentations(task.modality)


def training_defaults(task: TaskInfo, lr: float = 2e-3, augment: bool = True) -> dict[str, Any]:
    """AdamW with a cosine schedule: the setting that most often works untouched."""
    choices = batch_size_choices(task)
    offered = augment and len(augmentation_choices(task)) > 1
    augment = {"train_augment": "none"} if offered else {}
    return {
        **augment,
        "train_optimizer": "adamw",
        "train_lr": lr,
        "train_weight_decay": 1e-4,
        "train_batch_size": 64 if 64 in choices else choices[-1],
        "train_schedule": "cosine",
        "train_grad_clip": 0.0,
    }
