"""Tune's scheduler: ASHA early stopping, plus a time cap per trial, and a longer grace for
the configurations of a family that starts slowly.

The cap's verdicts are kept in a `TimeCaps` that the searcher reads when it records the trial,
so neither calls the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from automl.budget import format_seconds
from automl.engine.trial import METRIC

GRACE_EPOCHS = 3
REDUCTION_FACTOR = 3


class TimeCaps:
    """How long a trial may run, and which trials ran past it (with the words to record).

    A trial's clock starts when it says it started (`over`'s `started`), so a worker's start-up (a
    new process importing torch and fetching the data: 5 s here, several times that on a
    loaded machine) does not count against its cap. Until it says so, its clock runs from the
    first question with `start_up_s` more allowed: a worker that cannot say (a cluster node
    without the study's directory), or hangs before it starts, is still stopped.
    """

    def __init__(
        self, cap_s: float, clock: Callable[[], float] = time.monotonic, start_up_s: float = 0.0
    ) -> None:
        self.cap_s = cap_s
        self.start_up_s = start_up_s
        self._clock = clock
        self._running_since: dict[Any, float] = {}
        self._started: set[Any] = set()
        self._verdicts: dict[Any, str] = {}

    def over(self, key: Any, started: Callable[[], float | None] = lambda: None) -> bool:
        """Whether the trial has run past its cap. `started()`: how many seconds ago the
        trial began its work (None: not yet, or it cannot say), asked until it answers."""
        now = self._clock()
        if key not in self._started:
            seconds_ago = started()
            if seconds_ago is not None:
                self._running_since[key] = now - max(0.0, seconds_ago)
                self._started.add(key)
        began = self._running_since.setdefault(key, now)
        limit = self.cap_s + (0.0 if key in self._started else self.start_up_s)
        if now - began <= limit:
            return False
        self._verdicts[key] = (
            f"exceeded its time cap of {format_seconds(self.cap_s)} (--trial-timeout)"
        )
        return True

    def verdict(self, key: Any) -> str | None:
        """The cap's words for a trial it stopped (asked once, when the trial is recorded)."""
        self._running_since.pop(key, None)
        self._started.discard(key)
        return self._verdicts.pop(key, None)


def make_scheduler(
    max_epochs: int,
    caps: TimeCaps,
    grace: Callable[[dict[str, Any]], int] = lambda config: 0,
    started: Callable[[dict[str, Any]], float | None] = lambda config: None,
) -> Any:
    """ASHA over epochs, and a trial running past its cap is stopped; a trial is not judged
    before `grace(its config)` epochs. `started(its config)`: how many seconds ago the trial
    began its work (None: not yet, or unknown). Built in a function because Tune is imported
    late."""
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import ASHAScheduler

    class CappedASHA(ASHAScheduler):
        """The cap is checked at every controller step (Tune asks the scheduler which trial to
        run next about every 0.1 s), so a trial that hangs without reporting is stopped too.

        Its worker is not kept for the next trial, as Tune keeps the worker of a stopped trial
        when actors are reused: a hung one would take the next trial with it. It is killed
        instead once TUNE_FORCE_TRIAL_CLEANUP_S (set by automl.engine) have passed, freeing
        its CPU. Tune has no public switch for this: the controller's `_reuse_actors` is read
        when it stops a trial (Ray 2.60; the scheduler is handed a wrapper around it).
        """

        def choose_trial_to_run(self, tune_controller: Any) -> Any:
            for trial in list(tune_controller.get_live_trials()):
                if trial.status == Trial.RUNNING and caps.over(
                    trial.trial_id, lambda config=trial.config: started(config)
                ):
                    controller = getattr(tune_controller, "_tune_controller", tune_controller)
                    reuse = controller._reuse_actors
                    controller._reuse_actors = False
                    try:
                        tune_controller.stop_trial(trial)
                    finally:
                        controller._reuse_actors = reuse
            return super().choose_trial_to_run(tune_controller)

        def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
            # a slow starter skips the rungs before its grace: it is judged at the first rung
            # it reaches after it, against the others' scores there
            if result.get("training_iteration", 0) < grace(trial.config):
                return self.CONTINUE
            return super().on_trial_result(tune_controller, trial, result)

    return CappedASHA(
        time_attr="training_iteration",
        metric=METRIC,
        mode="max",
        max_t=max_epochs,
        grace_period=min(GRACE_EPOCHS, max_epochs),
        reduction_factor=REDUCTION_FACTOR,
    )
