"""One trial record: what a trial stores in the study, and the one rule that ranks trials.

The engine writes a trial's record (Optuna user attributes, under the keys of `Attr`, and the
files under `trials/<n>/`); the finish, the leaderboard (`automl studies`, `leaderboard()`)
and the dashboard read it back through `TrialRecord` or these keys, and all of them order
trials by `rank_key`. Nothing here imports torch, ray or optuna.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class Attr:
    """The user-attribute keys of a trial, and who writes them."""

    FAMILY = "family"  # the space function, with its parameters
    N_PARAMS = "n_params"  # the space function: parameter count, sized on the meta device
    RUN_ID = "run_id"  # the space function, after the last parameter (see interrupted trials)
    NODE = "node"  # the Ray node a trial ran on
    DEVICE = "device"  # the torch device it trained on: cpu or cuda
    LATENCY_MS = "latency_ms"  # one sample through the network on its device (median, ms)
    OOM_RETRY_BATCH = "oom_retry_batch_size"  # the batch it fell back to after out-of-memory
    EPOCHS = "epochs_completed"  # from here on: when the trial ends
    WALL_TIME_S = "wall_time_s"
    TRAIN_TIME_S = "train_time_s"  # pretraining and epochs
    PRETRAIN_TIME_S = "pretrain_time_s"
    BEST_VAL_LOSS = "best_val_loss"  # complete trials: validation loss at the best epoch
    FOLDS = "folds"  # cross-validated trials: networks trained, one per fold
    SCORE_SPREAD = "score_spread"  # and the standard deviation of their scores (best epoch)
    FAIL_REASON = "fail_reason"
    STOP_REASON = "stop_reason"
    # stopped by the clock (its time cap, the budget, Ctrl-C), not judged worse by ASHA: its
    # best epoch ranks with the complete trials
    CUT_SHORT = "cut_short"
    PLAN = "plan"  # the trial's training plan: epochs, steps per epoch (automl.trainer)
    PEAK_MEMORY_MB = "peak_memory_mb"  # its process's peak resident memory (a Ray worker's)


# The facts a trial reports with its results (where it ran, its latency, a smaller batch),
# recorded once per trial.
REPORTED_FACTS = (Attr.NODE, Attr.DEVICE, Attr.LATENCY_MS, Attr.OOM_RETRY_BATCH)
REASON_ATTRS = (Attr.FAIL_REASON, Attr.STOP_REASON, Attr.OOM_RETRY_BATCH)

TRIALS_DIR = "trials"  # trials/<n>/: per-trial files
SUMMARY_FILE = "summary.json"  # the architecture: layers, output shapes, parameter counts
METRICS_FILE = "metrics.json"  # one entry per epoch

STATUS = {  # how a trial's state reads in every leaderboard
    "COMPLETE": "complete",
    "PRUNED": "stopped early",
    "FAIL": "failed",
    "RUNNING": "running",
    "WAITING": "waiting",
}
INTERRUPTED = "interrupted"  # how the reasons of trials a killed search left behind start
BUDGET_STOP = "stopped by the time budget"  # a trial cut by the search's deadline
INTERRUPT_STOP = "stopped when the search was interrupted"  # cut by Ctrl-C


def trial_dir(study_dir: Path, number: int) -> Path:
    return Path(study_dir) / TRIALS_DIR / str(int(number))


def rank_key(complete: bool, score: float | None, val_loss: float | None, number: int) -> tuple:
    """How trials are ranked everywhere (sort ascending by it): complete trials (and those
    the clock cut short, see `competes`) first, by score, ties broken by the lower
    validation loss (accuracy ties are common on small validation sets), then the trial
    number; then the others by their last reported score; trials that never reported last."""
    return (
        not complete,
        -_number_or(score, -math.inf),
        _number_or(val_loss, math.inf) if complete else math.inf,
        number,
    )


def competes(state: str, value: float | None, attrs: dict[str, Any]) -> bool:
    """Whether a trial ranks with the complete ones: complete, or cut short by the clock
    (its time cap, the budget, Ctrl-C) after scoring an epoch. A trial ASHA stopped was
    judged worse than others and does not."""
    return (state == "COMPLETE" and value is not None) or bool(attrs.get(Attr.CUT_SHORT))


def _number_or(value: Any, missing: float) -> float:
    if value is None:
        return missing
    value = float(value)
    return missing if math.isnan(value) else value


def reason_of(attrs: dict[str, Any]) -> str:
    """Why a trial failed or stopped early, and whether it fell back to a smaller batch."""
    reasons = [attrs.get(Attr.FAIL_REASON) or attrs.get(Attr.STOP_REASON) or ""]
    if attrs.get(Attr.OOM_RETRY_BATCH):
        reasons.append(f"out of memory: retried at batch size {attrs[Attr.OOM_RETRY_BATCH]}")
    return "; ".join(r for r in reasons if r)


@dataclass(frozen=True)
class TrialRecord:
    """A trial as the study holds it, read from an Optuna FrozenTrial.

    `params` are as suggested (prefixed names, `family` included); `value` is the objective
    of a complete trial, `last_score` the best-so-far score of its last reported epoch.
    """

    number: int
    state: str  # Optuna's: COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    params: dict[str, Any]
    value: float | None
    last_score: float | None
    attrs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_trial(cls, trial: Any) -> TrialRecord:
        steps = trial.intermediate_values
        return cls(
            number=trial.number,
            state=trial.state.name,
            params=dict(trial.params),
            value=trial.value,
            last_score=steps[max(steps)] if steps else None,
            attrs=dict(trial.user_attrs),
        )

    @property
    def family(self) -> str | None:
        return self.attrs.get(Attr.FAMILY, self.params.get("family"))

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE" and self.value is not None

    @property
    def competes(self) -> bool:
        """Ranks with the complete trials (see `competes`)."""
        return competes(self.state, self.value, self.attrs)

    @property
    def scored(self) -> bool:
        """Trained at least one epoch: it has a score to rank (complete, or stopped early)."""
        return self.complete or (self.state == "PRUNED" and self.last_score is not None)

    @property
    def score(self) -> float | None:
        return self.value if self.value is not None else self.last_score

    @property
    def status(self) -> str:
        return STATUS.get(self.state, self.state.lower())

    @property
    def interrupted(self) -> bool:
        """Closed on --resume because a killed search left it running."""
        return str(self.attrs.get(Attr.FAIL_REASON, "")).startswith(INTERRUPTED)

    @property
    def reason(self) -> str:
        return reason_of(self.attrs)

    @property
    def trained_params(self) -> dict[str, Any]:
        """The parameters as it trained: with the smaller batch it fell back to after
        running out of memory, if it did."""
        params = dict(self.params)
        smaller = self.attrs.get(Attr.OOM_RETRY_BATCH)
        if smaller:
            params[f"{params['family']}.train_batch_size"] = smaller
        return params

    def get(self, key: str, default: Any = None) -> Any:
        return self.attrs.get(key, default)

    def rank_key(self) -> tuple:
        return rank_key(self.competes, self.score, self.get(Attr.BEST_VAL_LOSS), self.number)


def ranked(records: list[TrialRecord]) -> list[TrialRecord]:
    """Best first, by `rank_key`."""
    return sorted(records, key=TrialRecord.rank_key)
