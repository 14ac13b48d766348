"""One plain training loop: forward, loss, backward, clip, step; evaluate under no_grad.

The trainer knows nothing of Ray or Optuna: it calls `on_epoch` after every epoch and the engine
adapts that to Tune reports. The learning rate is a pure function of the step.

A network may define three hooks, and the loop uses them when present:
- `pretrain(X, batch_size, deadline) -> list[dict]`: an unsupervised phase before the epochs
  (a DBN's greedy RBM training); its log and time come with the first epoch's stats, and it
  is not an epoch, so early stopping compares fine-tuning epochs with other families' epochs;
- `training_loss(inputs, targets) -> Tensor`: the loss to minimise when it is not the task's
  criterion on the outputs (contrastive divergence, a contractive penalty);
- `monitor(X_val) -> dict`: extra per-epoch figures (an RBM's pseudo-log-likelihood).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.budget import Deadline
from automl.errors import TrialFailed
from automl.forecaster import mase, pinball_loss
from automl.task_info import TaskInfo

EVAL_BATCH_SIZE = 1024
# An epoch is at least this many optimiser steps (small data passes over itself several
# times): 40 series in batches of 8 would otherwise take 5 steps an epoch, so early stopping
# after 3 epochs would judge 15 steps, and reporting would cost more than training.
MIN_STEPS_PER_EPOCH = 25
WARMUP_SHARE = 0.05  # share of all steps spent warming the learning rate up linearly


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    schedule: str = "cosine"
    grad_clip: float = 0.0
    momentum: float = 0.9  # SGD only
    max_epochs: int = 30
    patience: int = 8  # epochs without a better validation score before stopping

    @classmethod
    def from_params(cls, params: dict[str, Any], max_epochs: int, patience: int) -> TrainingConfig:
        """Read the `<family>.train_*` entries a search space suggested."""
        prefix = f"{params['family']}.train_"
        found = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
        return cls(**found, max_epochs=max_epochs, patience=patience)


@dataclass
class EpochStats:
    epoch: int
    train_loss: float
    val_loss: float
    score: float  # validation accuracy, or R^2 for regression
    best_score: float
    best_val_loss: float  # validation loss at the best epoch
    seconds: float  # wall time of this epoch, training and evaluation
    finished: bool  # True on the last epoch of a run that ended by itself (not cut short)
    extra: dict[str, Any] = field(default_factory=dict)  # the network's monitor; pretraining

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    best_state: dict[str, torch.Tensor]
    best_score: float
    best_val_loss: float
    best_epoch: int
    history: list[EpochStats] = field(default_factory=list)
    stop_reason: str = ""
    pretrain_seconds: float = 0.0

    @property
    def epochs_completed(self) -> int:
        return len(self.history)

    @property
    def train_seconds(self) -> float:
        """Wall time of the pretraining and every epoch."""
        return self.pretrain_seconds + sum(e.seconds for e in self.history)


def lr_at(step: int, total_steps: int, base_lr: float, schedule: str) -> float:
    """Linear warm-up, then constant or cosine decay to zero."""
    warmup = max(1, int(WARMUP_SHARE * total_steps))
    if step < warmup:
        return base_lr * (step + 1) / warmup
    if schedule == "constant":
        return base_lr
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def loss_function(task: TaskInfo) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy on logits; the pinball loss of forecast quantiles; otherwise mean squared
    error against targets of any shape (one value, or the input itself for unlabelled data)."""
    if task.is_classification:
        return nn.functional.cross_entropy
    if task.forecast is not None:
        return pinball_loss(task.forecast["quantiles"])
    return lambda outputs, targets: nn.functional.mse_loss(outputs.reshape(targets.shape), targets)


def score_outputs(task: TaskInfo, outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Accuracy; R^2 for regression (targets are standardised); minus the MASE of a forecast;
    minus the mean squared reconstruction error per feature for unlabelled data. Higher is
    better."""
    if task.is_classification:
        return float((outputs.argmax(dim=1) == targets).float().mean())
    if task.forecast is not None:
        return -mase(outputs, targets, task.forecast["quantiles"])
    outputs = outputs.reshape(targets.shape)
    if task.target_kind == "none":
        return -float(torch.mean((outputs - targets) ** 2))
    residual = torch.sum((targets - outputs) ** 2)
    total = torch.sum((targets - targets.mean()) ** 2).clamp_min(1e-12)
    return float(1.0 - residual / total)


def batch_objective(
    model: nn.Module, task: TaskInfo
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The loss minimised on a batch: the network's own `training_loss` if it has one, else
    the task's criterion on its outputs."""
    own = getattr(model, "training_loss", None)
    if own is not None:
        return own
    criterion = loss_function(task)
    return lambda inputs, targets: criterion(model(inputs), targets)


def train_model(
    model: nn.Module,
    task: TaskInfo,
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    config: TrainingConfig,
    on_epoch: Callable[[EpochStats], None] | None = None,
    deadline: Deadline | None = None,
    seed: int = 0,
    min_epochs: int = 0,
    keep_best: bool = True,
    interrupt: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train until max_epochs, `patience` epochs without progress, or the deadline.

    `min_epochs` are trained even past the deadline (the finish never exports an untrained
    network). Keeps the weights of the best validation epoch (`keep_best=False`: of the last
    epoch, for a refit whose validation data is part of its training data). A non-finite loss
    raises TrialFailed. `interrupt()` is asked after every step: True ends training at once,
    the unfinished epoch uncounted (stop reason "interrupted"), as a scheduler stops a trial.
    """
    device = next(model.parameters()).device
    X_train, y_train = (t.to(device) for t in train)
    X_val, y_val = (t.to(device) for t in val)
    generator = torch.Generator().manual_seed(seed)
    criterion = loss_function(task)
    optimizer = make_optimizer(model, config)
    n = len(X_train)
    batch_size = max(1, min(config.batch_size, n))
    passes = max(1, math.ceil(MIN_STEPS_PER_EPOCH / math.ceil(n / batch_size)))
    total_steps = math.ceil(n / batch_size) * passes * config.max_epochs
    objective = batch_objective(model, task)
    monitor = getattr(model, "monitor", None)

    pretrain_extra: dict[str, Any] = {}
    pretrain_seconds = 0.0
    if callable(getattr(model, "pretrain", None)):
        started = time.perf_counter()
        model.train()
        log = model.pretrain(X_train, batch_size, deadline)
        pretrain_seconds = time.perf_counter() - started
        pretrain_extra = {"pretrain": log, "pretrain_seconds": pretrain_seconds}

    best_score, best_loss, best_epoch = -math.inf, math.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[EpochStats] = []
    stop_reason = "max_epochs"
    step = 0
    for epoch in range(1, config.max_epochs + 1):
        if deadline is not None and deadline.expired() and epoch > min_epochs:
            stop_reason = "deadline"
            break
        started = time.perf_counter()
        model.train()
        order = torch.cat([torch.randperm(n, generator=generator) for _ in range(passes)])
        order = order.to(device)
        running, seen = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            if len(index) < 2 and n >= 2 and start > 0:
                continue  # a batch of one breaks batch norm; its sample is seen next epoch
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, config.lr, config.schedule)
            loss = objective(X_train[index], y_train[index])
            if not torch.isfinite(loss):
                raise TrialFailed(
                    f"training loss became {loss.item()} at epoch {epoch} "
                    f"(learning rate {config.lr:.2g}); the architecture diverged"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            running += loss.item() * len(index)
            seen += len(index)
            step += 1
            if interrupt is not None and interrupt():
                stop_reason = "interrupted"
                break
        if stop_reason == "interrupted":
            break

        val_outputs = predict_outputs(model, X_val)
        val_loss = float(criterion(val_outputs, y_val))
        score = score_outputs(task, val_outputs, y_val)
        if not math.isfinite(val_loss) or not math.isfinite(score):
            raise TrialFailed(f"validation loss became {val_loss} at epoch {epoch}")
        # Validation accuracy saturates on easy data; the loss breaks ties, so a later, better
        # calibrated epoch wins over the first one that reached the same accuracy.
        if score > best_score or (score == best_score and val_loss < best_loss):
            best_score, best_loss, best_epoch = score, val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        patience_over = epoch - best_epoch >= config.patience
        finished = patience_over or epoch == config.max_epochs
        extra = dict(monitor(X_val)) if monitor is not None else {}
        if epoch == 1:
            extra.update(pretrain_extra)
        stats = EpochStats(
            epoch=epoch,
            train_loss=running / max(1, seen),
            val_loss=val_loss,
            score=score,
            best_score=best_score,
            best_val_loss=best_loss,
            seconds=time.perf_counter() - started,
            finished=finished,
            extra=extra,
        )
        history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if patience_over:
            stop_reason = "patience"
            break
    if keep_best:
        model.load_state_dict(best_state)
    return TrainResult(
        best_state, best_score, best_loss, best_epoch, history, stop_reason, pretrain_seconds
    )


def default_device() -> str:
    """Where a network trains in this process: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@torch.no_grad()
def predict_outputs(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Raw outputs (logits, or standardised regression values) in evaluation mode."""
    model.eval()
    device = next(model.parameters()).device
    chunks = [
        model(X[i : i + EVAL_BATCH_SIZE].to(device)) for i in range(0, len(X), EVAL_BATCH_SIZE)
    ]
    return torch.cat(chunks).cpu() if chunks else torch.empty(0)


def to_tensors(
    X: np.ndarray, y: np.ndarray | None, task: TaskInfo
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (float, or int64 token ids) and class indices or float targets as CPU tensors.

    Unlabelled data (y None) is its own target: the same tensor, not a copy.
    """
    dtype = np.int64 if np.issubdtype(X.dtype, np.integer) else np.float32
    features = torch.from_numpy(np.ascontiguousarray(X, dtype=dtype))
    if y is None:
        return features, features
    target_dtype = torch.long if task.is_classification else torch.float32
    return features, torch.as_tensor(y, dtype=target_dtype)
