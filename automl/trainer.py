"""One plain training loop: forward, loss, backward, clip, step; evaluate under no_grad.

The trainer knows nothing of Ray or Optuna: it calls `on_epoch` after every epoch and the engine
adapts that to Tune reports. The learning rate is a pure function of the step.

A network may define these hooks, and the loop uses them when present:
- `pretrain(X, batch_size, deadline) -> list[dict]`: an unsupervised phase before the epochs
  (a DBN's greedy RBM training); its log and time come with the first epoch's stats, and it
  is not an epoch, so early stopping compares fine-tuning epochs with other families' epochs;
- `training_loss(inputs, targets) -> Tensor`: the loss to minimise when it is not the task's
  criterion on the outputs (contrastive divergence, a contractive penalty);
- `monitor(X_val) -> dict`: extra per-epoch figures (an RBM's pseudo-log-likelihood);
- `fixed_inputs(X) -> Tensor` with `from_fixed(features) -> outputs`: a first stage that does
  not train (random kernels), computed once after `pretrain` for the training and validation
  rows, so the epochs train and score the rest on its features; `pretrain` may leave the
  training rows' in `fixed_train` when it computed them anyway (to standardise them).
- `fit_head(features, targets)`: with fixed inputs, a closed-form head fitted on the training
  rows' features before the epochs (ridge, LDA); the epochs then train what it leaves trainable.
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

from automl.augment import augment
from automl.budget import Deadline
from automl.errors import TrialFailed
from automl.forecaster import mase, pinball_loss
from automl.task_info import TaskInfo

EVAL_BATCH_SIZE = 1024
MAX_FIXED = 50_000_000  # values of fixed features kept in memory (200 MB); more: per batch
# An epoch is at least this many optimiser steps (small data passes over itself several
# times): 40 series in batches of 8 would otherwise take 5 steps an epoch, so early stopping
# after 3 epochs would judge 15 steps, and reporting would cost more than training.
MIN_STEPS_PER_EPOCH = 25
WARMUP_SHARE = 0.05  # share of all steps spent warming the learning rate up linearly
# Planning a trial to its time (plan_training): the first PROBE_STEPS steps after one to warm
# up are timed; the plan spends PLAN_SHARE of the time, in at least MIN_ROUNDS epochs (so
# ASHA's rungs judge it), an epoch shrunk to part of a pass over the rows when a whole pass
# would not fit: early rungs then judge trials on a subset of the rows.
PROBE_STEPS = 4
PLAN_PREFIX = "plan_"  # the plan's entries in the first epoch's `extra`
PLAN_SHARE = 0.8
MIN_ROUNDS = 6
TOO_SLOW = "too slow"  # how the failure of a network too slow for its trial's time begins
PRETRAIN_SHARE = 0.4  # of a planned trial's time, at most, for a pretraining phase (RBMs)
EVAL_COST = 0.35  # a validation row costs about this share of a training row (no backward)


@dataclass(frozen=True)
class TrainingConfig:
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    batch_size: int = 64
    schedule: str = "cosine"
    grad_clip: float = 0.0
    momentum: float = 0.9  # SGD only
    augment: str = "none"  # a random version of each batch (automl.augment)
    max_epochs: int = 30
    patience: int = 8  # epochs without a better validation score before stopping

    @classmethod
    def from_params(cls, params: dict[str, Any], max_epochs: int, patience: int) -> TrainingConfig:
        """Read the `<family>.train_*` entries a search space suggested."""
        prefix = f"{params['family']}.train_"
        found = {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
        return cls(**found, max_epochs=max_epochs, patience=patience)


@dataclass(frozen=True)
class Plan:
    """How a trial trains within its time: epochs of `steps` optimiser steps each, `full`
    steps being one epoch as data size alone sets it (MIN_STEPS_PER_EPOCH)."""

    epochs: int
    steps: int
    full: int
    step_s: float = 0.0  # measured seconds per step (all folds)

    @property
    def fraction(self) -> float:
        """The share of a full epoch's rows each epoch sees (1.0 when it is not shrunk)."""
        return round(self.steps / self.full, 4)

    def as_extra(self) -> dict[str, Any]:
        """Flat `plan_*` entries of an epoch's `extra` (Tune flattens nested ones)."""
        return {PLAN_PREFIX + k: v for k, v in {**asdict(self), "fraction": self.fraction}.items()}

    @staticmethod
    def from_extra(extra: dict[str, Any]) -> dict[str, Any] | None:
        """The plan an epoch's `extra` carries (`as_extra`), as a plain dict; None if none."""
        plan = {
            k.removeprefix(PLAN_PREFIX): v for k, v in extra.items() if k.startswith(PLAN_PREFIX)
        }
        return plan or None


def plan_training(
    step_s: float,
    eval_s: float,
    full_steps: int,
    time_s: float,
    max_epochs: int,
    cap_s: float | None = None,
) -> Plan:
    """The epochs and steps per epoch that fit `time_s` seconds, at `step_s` a step and
    `eval_s` a validation pass. As configured when it fits; else at least MIN_ROUNDS epochs
    (each part of a pass if need be), or as many as fit. Raises TrialFailed when not even
    one epoch of MIN_STEPS_PER_EPOCH steps fits in `cap_s` (the trial's cap; default
    `time_s`): the network is too slow for any trial. Less time than the cap (the search
    ends sooner) only shortens the plan.

    >>> plan_training(0.01, 0.1, 100, 600.0, 30)  # 30 epochs of 1.1 s fit in 480 s
    Plan(epochs=30, steps=100, full=100, step_s=0.01)
    >>> plan_training(0.1, 1.0, 1000, 600.0, 30)  # 101 s an epoch: 6 of 80 s (790 steps)
    Plan(epochs=6, steps=790, full=1000, step_s=0.1)
    """
    usable = PLAN_SHARE * time_s
    full_epoch_s = full_steps * step_s + eval_s
    if full_epoch_s * max_epochs <= usable:
        return Plan(max_epochs, full_steps, full_steps, step_s)
    least = min(MIN_STEPS_PER_EPOCH, full_steps)
    cap_s = time_s if cap_s is None else cap_s
    if least * step_s + eval_s > cap_s:
        raise TrialFailed(
            f"{TOO_SLOW} for the {cap_s:.0f}s a trial has: a step takes {step_s:.2f}s and a "
            f"validation pass {eval_s:.1f}s, so not even an epoch of {least} steps fits "
            "(a longer --budget or --trial-timeout gives it time)"
        )
    per_round = usable / min(MIN_ROUNDS, max_epochs)
    steps = int(np.clip((per_round - eval_s) / max(step_s, 1e-9), least, full_steps))
    epochs = int(np.clip(usable // (steps * step_s + eval_s), 1, max_epochs))
    return Plan(epochs, steps, full_steps, round(step_s, 6))


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


@dataclass(frozen=True)
class Split:
    """One network's data: (features, targets) to train and to validate on, and the rows of
    the validation arrays its validation part is (out-of-fold predictions go there)."""

    train: tuple[torch.Tensor, torch.Tensor]
    val: tuple[torch.Tensor, torch.Tensor]
    val_rows: torch.Tensor


@dataclass
class TrainResult:
    best_states: list[dict[str, torch.Tensor]]  # one per network (fold), of the best epoch
    best_score: float
    best_val_loss: float
    best_epoch: int
    history: list[EpochStats] = field(default_factory=list)
    stop_reason: str = ""
    pretrain_seconds: float = 0.0
    # the validation (out-of-fold) outputs of the best epoch, in the validation rows' order
    best_outputs: torch.Tensor | None = None

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
    if config.optimizer == "adagrad":  # the RNTN paper's: per-parameter rates for sparse words
        return torch.optim.Adagrad(
            model.parameters(), lr=config.lr, weight_decay=config.weight_decay
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
    **options: Any,
) -> TrainResult:
    """Train one network on one split (see train_networks for the options)."""
    split = Split(train, val, torch.arange(len(val[0])))
    return train_networks([model], task, [split], config, **options)


def train_networks(
    models: list[nn.Module],
    task: TaskInfo,
    splits: list[Split],
    config: TrainingConfig,
    on_epoch: Callable[[EpochStats], None] | None = None,
    deadline: Deadline | None = None,
    seed: int = 0,
    min_epochs: int = 0,
    keep_best: bool = True,
    interrupt: Callable[[], bool] | None = None,
    on_best: Callable[[TrainResult], None] | None = None,
    time_s: float | None = None,
    cap_s: float | None = None,
) -> TrainResult:
    """Train one network per split, in step, until max_epochs, `patience` epochs without
    progress, or the deadline.

    Each epoch is scored on the validation parts pooled (out of fold, under cross-validation),
    so early stopping judges the networks together, and all keep the weights of that best
    epoch (`keep_best=False`: of the last epoch, for a refit whose validation data is part of
    its training data). `on_best` gets the result so far whenever an epoch is the best yet.
    `min_epochs` are trained even past the deadline (the finish never exports an untrained
    network). A non-finite loss raises TrialFailed. `interrupt()` is asked after every step:
    True ends training at once, the unfinished epoch uncounted (stop reason "interrupted"),
    as a scheduler stops a trial. With `time_s`, the epochs are planned to end within that
    many seconds (plan_training, from timed first steps, `cap_s` the trial's whole cap);
    the plan is in the first epoch's `extra` (Plan.as_extra). A pretraining phase then
    gets at most PRETRAIN_SHARE of that time.
    """
    began = time.perf_counter()
    criterion = loss_function(task)
    folds = [
        _Fold(model, split, task, config, seed + i)
        for i, (model, split) in enumerate(zip(models, splits, strict=True))
    ]
    rows = torch.cat([s.val_rows for s in splits])
    held_out = torch.cat([s.val[1] for s in splits])
    targets = torch.empty_like(held_out)
    targets[rows] = held_out  # in the validation rows' order
    monitor = getattr(models[0], "monitor", None)

    pretrain_extra: dict[str, Any] = {}
    pretrain_seconds = 0.0
    pretrains = callable(getattr(models[0], "pretrain", None))
    if pretrains or callable(getattr(models[0], "fixed_inputs", None)):
        until = deadline
        if until is None and time_s is not None:
            until = Deadline(PRETRAIN_SHARE * time_s)
        started = time.perf_counter()
        logs = []
        for fold in folds:  # asked between folds: a fold's fixed features can take seconds
            if interrupt is not None and interrupt():
                result = TrainResult([m.state_dict() for m in models], -math.inf, math.inf, 0)
                result.stop_reason = "interrupted"
                result.pretrain_seconds = time.perf_counter() - started
                return result
            logs.append(fold.pretrain(until) if pretrains else [])
            fold.fix_inputs()
        pretrain_seconds = time.perf_counter() - started
        # the first network's log stands for all
        pretrain_extra = {"pretrain": logs[0], "pretrain_seconds": pretrain_seconds}

    result = TrainResult([copy.deepcopy(m.state_dict()) for m in models], -math.inf, math.inf, 0)
    result.pretrain_seconds = pretrain_seconds
    spread = 0.0
    result.stop_reason = "max_epochs"
    plan = Plan(config.max_epochs, folds[0].steps_per_epoch, folds[0].steps_per_epoch)
    if time_s is not None:
        left = time_s - (time.perf_counter() - began)
        plan = _probe_plan(folds, len(rows), config, left, cap_s)
        if plan is None:  # interrupted while timing its first steps
            result.stop_reason = "interrupted"
            return result
        pretrain_extra.update(plan.as_extra())
    for epoch in range(1, plan.epochs + 1):
        if deadline is not None and deadline.expired() and epoch > min_epochs:
            result.stop_reason = "deadline"
            break
        started = time.perf_counter()
        running = seen = 0.0
        for fold in folds:
            steps = plan.steps if plan.steps < plan.full else fold.steps_per_epoch
            loss, count = fold.train_epoch(epoch, interrupt, steps)
            running, seen = running + loss, seen + count
            if fold.interrupted:
                result.stop_reason = "interrupted"
                break
        if result.stop_reason == "interrupted":
            break

        outputs_of = [fold.predict_val() for fold in folds]
        outputs = torch.empty((len(rows), *outputs_of[0].shape[1:]), dtype=outputs_of[0].dtype)
        outputs[rows] = torch.cat(outputs_of)
        val_loss = float(criterion(outputs, targets))
        score = score_outputs(task, outputs, targets)
        if not math.isfinite(val_loss) or not math.isfinite(score):
            raise TrialFailed(f"validation loss became {val_loss} at epoch {epoch}")
        # Validation accuracy saturates on easy data; the loss breaks ties, so a later, better
        # calibrated epoch wins over the first one that reached the same accuracy.
        if score > result.best_score or (
            score == result.best_score and val_loss < result.best_val_loss
        ):
            result.best_score, result.best_val_loss, result.best_epoch = score, val_loss, epoch
            result.best_states = [copy.deepcopy(f.model.state_dict()) for f in folds]
            result.best_outputs = outputs
            if len(folds) > 1:  # the spread of the folds' own scores, at this epoch
                scores = [
                    score_outputs(task, fold_outputs, fold.y_val.cpu())
                    for fold_outputs, fold in zip(outputs_of, folds, strict=True)
                ]
                spread = float(np.std(scores))
            if on_best is not None:
                on_best(result)
        patience_over = epoch - result.best_epoch >= config.patience
        finished = patience_over or epoch == plan.epochs
        extra = dict(monitor(folds[0].X_val)) if monitor is not None else {}
        if len(folds) > 1:
            extra.update(folds=len(folds), best_spread=spread)
        if epoch == 1:
            extra.update(pretrain_extra)
        stats = EpochStats(
            epoch=epoch,
            train_loss=running / max(1, seen),
            val_loss=val_loss,
            score=score,
            best_score=result.best_score,
            best_val_loss=result.best_val_loss,
            seconds=time.perf_counter() - started,
            finished=finished,
            extra=extra,
        )
        result.history.append(stats)
        if on_epoch is not None:
            on_epoch(stats)
        if patience_over:
            result.stop_reason = "patience"
            break
    if keep_best:
        for fold, state in zip(folds, result.best_states, strict=True):
            fold.model.load_state_dict(state)
    return result


def _probe_plan(
    folds: list[_Fold], n_val: int, config: TrainingConfig, time_s: float, cap_s: float | None
) -> Plan | None:
    """Time the first network's first steps (they train it: they are not wasted) and plan
    every network's epochs from them; None when interrupted meanwhile."""
    probe = folds[0]
    probe.train_steps(1, None)  # the first step pays one-off allocations: not timed
    started = time.perf_counter()
    probe.train_steps(PROBE_STEPS, None)
    if probe.interrupted:
        return None
    one_step = (time.perf_counter() - started) / PROBE_STEPS
    eval_s = EVAL_COST * one_step / probe.batch_size * n_val
    plan = plan_training(
        one_step * len(folds),
        eval_s,
        probe.steps_per_epoch,
        max(time_s, 0.0),
        config.max_epochs,
        cap_s,
    )
    for fold in folds:
        fold.total_steps = fold.step + plan.steps * plan.epochs
    return plan


class _Fold:
    """One network's training: its data on its device, optimiser, shuffling and step count."""

    def __init__(
        self, model: nn.Module, split: Split, task: TaskInfo, config: TrainingConfig, seed: int
    ) -> None:
        device = next(model.parameters()).device
        self.model, self.config, self.task = model, config, task
        self.X_train, self.y_train = (t.to(device) for t in split.train)
        self.X_val, self.y_val = (t.to(device) for t in split.val)
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizer = make_optimizer(model, config)
        self.n = len(self.X_train)
        self.batch_size = max(1, min(config.batch_size, self.n))
        batches = math.ceil(self.n / self.batch_size)
        self.passes = max(1, math.ceil(MIN_STEPS_PER_EPOCH / batches))
        self.steps_per_epoch = batches * self.passes  # as data size alone sets it
        self.total_steps = self.steps_per_epoch * config.max_epochs
        self.objective = batch_objective(model, task)
        self.forward: Callable[[torch.Tensor], torch.Tensor] = model
        self.step = 0
        self.epoch = 1
        self.interrupted = False
        # the rows' order: `passes` shuffles end to end, drawn batch by batch across epochs
        self._order = torch.empty(0, dtype=torch.long)
        self._at = 0

    def pretrain(self, deadline: Deadline | None) -> list[dict]:
        self.model.train()
        return self.model.pretrain(self.X_train, self.batch_size, deadline)

    def fix_inputs(self) -> None:
        """The network's fixed first stage, once, when it has one and its features fit."""
        fixed = getattr(self.model, "fixed_inputs", None)
        known = getattr(self.model, "fixed_train", None)
        if known is not None:
            self.model.fixed_train = None  # not kept with the network
        if fixed is None or (len(self.X_train) + len(self.X_val)) * self.model.n_fixed > MAX_FIXED:
            return
        device = self.X_train.device
        if known is None:
            known = predict_outputs(self.model, self.X_train, fixed)
        self.X_train = known.to(device)
        self.X_val = predict_outputs(self.model, self.X_val, fixed).to(device)
        self.forward = self.model.from_fixed
        fit_head = getattr(self.model, "fit_head", None)
        if fit_head is not None:
            fit_head(self.X_train, self.y_train)
        criterion = loss_function(self.task)
        self.objective = lambda inputs, targets: criterion(self.forward(inputs), targets)

    def predict_val(self) -> torch.Tensor:
        """The network's outputs on its validation rows (on the CPU), in evaluation mode."""
        return predict_outputs(self.model, self.X_val, self.forward)

    def train_epoch(
        self, epoch: int, interrupt: Callable[[], bool] | None, steps: int
    ) -> tuple[float, int]:
        """One epoch of `steps` steps; (summed loss, samples seen). Sets `interrupted` when
        told to stop."""
        self.epoch = epoch
        return self.train_steps(steps, interrupt)

    def _next_batch(self) -> torch.Tensor:
        if self._at >= len(self._order):
            self._order = torch.cat(
                [torch.randperm(self.n, generator=self.generator) for _ in range(self.passes)]
            ).to(self.X_train.device)
            self._at = 0
        index = self._order[self._at : self._at + self.batch_size]
        self._at += self.batch_size
        return index

    def train_steps(self, steps: int, interrupt: Callable[[], bool] | None) -> tuple[float, int]:
        config = self.config
        self.model.train()
        running, seen, done = 0.0, 0, 0
        while done < steps:
            index = self._next_batch()
            if len(index) < 2 and self.n >= 2 and self._at > self.batch_size:
                continue  # a batch of one breaks batch norm; its sample is seen next time
            for group in self.optimizer.param_groups:
                group["lr"] = lr_at(self.step, self.total_steps, config.lr, config.schedule)
            inputs = self.X_train[index]
            if self.forward is self.model:  # fixed features (random kernels) stay as they are
                inputs = augment(inputs, config.augment, self.generator)
            loss = self.objective(inputs, self.y_train[index])
            if not torch.isfinite(loss):
                raise TrialFailed(
                    f"training loss became {loss.item()} at epoch {self.epoch} "
                    f"(learning rate {config.lr:.2g}); the architecture diverged"
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip > 0:
                nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip)
            self.optimizer.step()
            running += loss.item() * len(index)
            seen += len(index)
            self.step += 1
            done += 1
            if interrupt is not None and interrupt():
                self.interrupted = True
                break
        return running, seen


def default_device() -> str:
    """Where a network trains in this process: the GPU when there is one."""
    return "cuda" if torch.cuda.is_available() else "cpu"


@torch.no_grad()
def predict_outputs(
    model: nn.Module,
    X: torch.Tensor,
    forward: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Raw outputs (logits, or standardised regression values) in evaluation mode, on the CPU;
    `forward`: a part of the model to run instead of all of it (its fixed first stage)."""
    model.eval()
    device = next(model.parameters()).device
    forward = forward or model
    chunks = [
        forward(X[i : i + EVAL_BATCH_SIZE].to(device)) for i in range(0, len(X), EVAL_BATCH_SIZE)
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
