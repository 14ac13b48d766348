"""What a trial leaves in the study, whichever executor ran it.

Each epoch's result goes to Optuna as an intermediate value and to the trial's history; when
the trial ends, the history is written to trials/<n>/metrics.json and Optuna is told how it
ended: COMPLETE with its best score only when it trained to its end, PRUNED when it was stopped
early (by ASHA, its time cap or the budget: TPE must not take a one-epoch score for an outcome),
FAIL with the reason when it raised, diverged or hung before reporting.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.engine.trial import ERROR_KEY, METRIC, PEAK_MEMORY
from automl.kept_networks import forget, kept_trials
from automl.study import write_json
from automl.trainer import TOO_SLOW, EpochStats, Plan
from automl.trial_record import (
    METRICS_FILE,
    REPORTED_FACTS,
    Attr,
    competes,
    rank_key,
    trial_dir,
)

EPOCH_FIELDS = tuple(f.name for f in dataclasses.fields(EpochStats))  # kept in metrics.json
EXTRA_PREFIX = "extra/"  # EpochStats.extra as Tune flattens it
WORKER_CRASHED = "the trial's worker process crashed"


@dataclass(frozen=True)
class TrialEnd:
    """How a trial ended, as its executor saw it."""

    result: dict[str, Any]  # its last result (a failure's carries ERROR_KEY)
    crashed: bool = False  # its worker died without a result
    timed_out: str | None = None  # the time cap stopped it: the cap's words
    stopped: str | None = None  # stopped from outside (the budget, Ctrl-C): the words


def epoch_record(result: dict[str, Any]) -> dict[str, Any]:
    """The metrics.json entry of one epoch's result (nested `extra`, or as Tune flattens it)."""
    record = {k: result[k] for k in EPOCH_FIELDS if k in result and k != "extra"}
    extra = result.get("extra")
    if not isinstance(extra, dict):
        extra = {
            k.removeprefix(EXTRA_PREFIX): v for k, v in result.items() if k.startswith(EXTRA_PREFIX)
        }
    record["extra"] = extra
    return record


def ending(history: list[dict[str, Any]], end: TrialEnd) -> tuple[str, float | None, dict]:
    """(Optuna state name, value, user attributes) of a trial that ended so."""
    result = end.result
    if end.timed_out and not history:
        return "FAIL", None, {Attr.FAIL_REASON: end.timed_out}
    if end.timed_out:
        return "PRUNED", None, _cut_short(history, end.timed_out)
    if ERROR_KEY in result or end.crashed:
        return "FAIL", None, {Attr.FAIL_REASON: result.get(ERROR_KEY) or WORKER_CRASHED}
    if result.get("finished") and METRIC in result:
        attrs = {Attr.BEST_VAL_LOSS: float(result["best_val_loss"])}
        return "COMPLETE", float(result[METRIC]), attrs
    if end.stopped and history:
        return "PRUNED", None, _cut_short(history, end.stopped)
    reason = end.stopped or f"stopped early by ASHA after epoch {len(history)}"
    return "PRUNED", None, {Attr.STOP_REASON: reason}


def _cut_short(history: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """A trial the clock cut short: its best epoch so far competes in the finish like a
    complete trial's; Optuna hears PRUNED all the same, so TPE never takes a part-trained
    score for an outcome."""
    return {
        Attr.STOP_REASON: reason,
        Attr.CUT_SHORT: True,
        Attr.BEST_VAL_LOSS: float(history[-1]["best_val_loss"]),
    }


class TrialRecorder:
    """Records the trials of one run in the study and trials/<n>/, keyed by the executor's
    own trial key (Tune's trial id, or the Optuna trial number in process)."""

    def __init__(self, study_dir: Path, fallbacks: dict[str, dict[str, Any]] | None = None) -> None:
        self.study_dir = Path(study_dir)
        self._fallbacks = dict(fallbacks or {})  # family -> its smallest point, not yet tried
        self._history: dict[Any, list[dict[str, Any]]] = {}
        self._started: dict[Any, float] = {}
        self._noted: set[Any] = set()
        # trials keeping their networks: their rank keys and families
        self._kept: dict[int, tuple[tuple, str | None]] = {}

    def started(self, key: Any) -> None:
        self._started[key] = time.time()

    def last_epoch(self, key: Any) -> int:
        seen = self._history.get(key)
        return seen[-1]["epoch"] if seen else 0

    def on_result(self, key: Any, ot_trial: Any, result: dict[str, Any]) -> bool:
        """Record one result; True when it is an epoch's score (a failure's is not).

        Where the trial ran and whether it fell back to a smaller batch come with every
        result; the first is recorded (a retry comes before any)."""
        if key not in self._noted:
            self._noted.add(key)
            for attr in REPORTED_FACTS:
                if attr in result:
                    ot_trial.set_user_attr(attr, result[attr])
        if METRIC not in result:
            return False
        self._history.setdefault(key, []).append(epoch_record(result))
        return True

    def close(self, key: Any, study: Any, ot_trial: Any, end: TrialEnd) -> None:
        """Write the trial's history and attributes, and tell Optuna how it ended."""
        import optuna

        history = self._history.pop(key, [])
        self._noted.discard(key)
        started = self._started.pop(key, time.time())
        ot_trial.set_user_attr(Attr.EPOCHS, len(history))
        ot_trial.set_user_attr(Attr.WALL_TIME_S, round(time.time() - started, 3))
        # pretraining (a DBN's, reported with the first epoch) is training time too
        pretrain_s = history[0]["extra"].get("pretrain_seconds", 0.0) if history else 0.0
        train_s = pretrain_s + sum(h.get("seconds", 0.0) for h in history)
        ot_trial.set_user_attr(Attr.TRAIN_TIME_S, round(train_s, 3))
        if pretrain_s:
            ot_trial.set_user_attr(Attr.PRETRAIN_TIME_S, round(pretrain_s, 3))
        extras = [h["extra"] for h in history]
        plan = Plan.from_extra(extras[0]) if extras else None
        if plan is not None:
            ot_trial.set_user_attr(Attr.PLAN, plan)
        peaks = [e[PEAK_MEMORY] for e in extras if PEAK_MEMORY in e]
        if peaks:
            ot_trial.set_user_attr(Attr.PEAK_MEMORY_MB, max(peaks))
        folds = history[-1]["extra"].get("folds") if history else None
        if folds:
            ot_trial.set_user_attr(Attr.FOLDS, int(folds))
            ot_trial.set_user_attr(Attr.SCORE_SPREAD, float(history[-1]["extra"]["best_spread"]))
        state, value, attrs = ending(history, end)
        if state == "FAIL" and str(attrs.get(Attr.FAIL_REASON, "")).startswith(TOO_SLOW):
            family = ot_trial.params.get("family")
            point = self._fallbacks.pop(family, None)
            if point is not None:  # the search goes on with the smallest network, once
                study.enqueue_trial(point)
                attrs[Attr.FAIL_REASON] += f"; the smallest {family} is queued to run next"
        for name, attr_value in attrs.items():
            ot_trial.set_user_attr(name, attr_value)
        write_json(trial_dir(self.study_dir, ot_trial.number) / METRICS_FILE, history)
        study.tell(ot_trial, value, state=optuna.trial.TrialState[state])
        family = ot_trial.params.get("family")
        self._keep_the_best(ot_trial.number, family, state, value, history, attrs)

    def _keep_the_best(
        self,
        number: int,
        family: str | None,
        state: str,
        value: float | None,
        history: list,
        attrs: dict,
    ) -> None:
        """Only the run's best trials keep their networks (automl.kept_networks.kept_trials)."""
        if not history or state == "FAIL":
            forget(self.study_dir, number)
            return
        score = value if value is not None else history[-1].get(METRIC)
        rank = rank_key(competes(state, value, attrs), score, attrs.get(Attr.BEST_VAL_LOSS), number)
        self._kept[number] = (rank, family)
        ranked = sorted(self._kept, key=lambda n: self._kept[n][0])
        kept = set(kept_trials(ranked, lambda n: self._kept[n][1]))
        for worse in set(ranked) - kept:
            forget(self.study_dir, worse)
            del self._kept[worse]
