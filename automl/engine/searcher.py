"""Tune's searcher: OptunaSearch over the study, recording each trial through TrialRecorder.

Built in a function because OptunaSearch is only importable once Ray is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automl.engine.recorder import TrialEnd, TrialRecorder
from automl.engine.scheduler import TimeCaps
from automl.engine.trial import METRIC


def make_searcher(
    space: Any,
    *,
    study_dir: Path,
    caps: TimeCaps,
    storage: Any,
    sampler: Any,
    points: list[dict[str, Any]] | None,
    fallbacks: dict[str, dict[str, Any]] | None = None,
) -> Any:
    from ray.tune.search.optuna import OptunaSearch

    class StudySearcher(OptunaSearch):
        """OptunaSearch whose trials end as TrialRecorder records them. Tune never passes a
        trial's final result to on_trial_result, only to on_trial_complete: it is recorded
        there. The time cap's verdicts come from the scheduler through `caps`."""

        def __init__(self) -> None:
            super().__init__(
                space,
                metric=METRIC,
                mode="max",
                points_to_evaluate=points,
                sampler=sampler,
                study_name=study_dir.name,
                storage=storage,
            )
            self._recorder = TrialRecorder(study_dir, fallbacks)
            self._caps = caps

        def suggest(self, trial_id: str) -> dict | None:
            self._recorder.started(trial_id)
            return super().suggest(trial_id)

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is not None and self._recorder.on_result(trial_id, ot_trial, result):
                super().on_trial_result(trial_id, result)

        def on_trial_complete(
            self, trial_id: str, result: dict | None = None, error: bool = False
        ) -> None:
            self._close(trial_id, TrialEnd(result or {}, crashed=error))

        def closed(self) -> int:
            """How many trials of this run have ended."""
            return len(self._completed_trials)

        def close_unfinished(self, reason: str) -> None:
            """Trials cut by the time budget never hear on_trial_complete: close them now."""
            for trial_id in list(self._ot_trials):
                self._close(trial_id, TrialEnd({}, stopped=reason))

        def _close(self, trial_id: str, end: TrialEnd) -> None:
            if trial_id in self._completed_trials or trial_id not in self._ot_trials:
                return
            result = end.result
            if METRIC in result and result.get("epoch", 0) > self._recorder.last_epoch(trial_id):
                self.on_trial_result(trial_id, result)
            timed_out = self._caps.verdict(trial_id)
            if timed_out:
                end = TrialEnd(result, end.crashed, timed_out, end.stopped)
            self._recorder.close(trial_id, self._ot_study, self._ot_trials[trial_id], end)
            self._completed_trials.add(trial_id)

    return StudySearcher()
