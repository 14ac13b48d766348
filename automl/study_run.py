"""One run of a study: the claim on it, its records in config.json, a resume, and the budget.

A new study gets its directory only once the data is prepared (bad data leaves nothing
behind); a resumed one is claimed first, its recorded options taken, its data checked against
the fingerprint, its interrupted trials closed for a re-run, and only what is left of its
budget and trial count spent. The run's budget is split once: the search gets what remains
minus a reserve, which the finish spends.

    with StudyRun(options, started) as run:
        run.start(dataset, prepared)        # the directory, the claim, the run's record
        run.search_job(...) ...             # this run's limits
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from automl import driver
from automl.budget import Deadline, epochs_for_budget, format_seconds, patience_for
from automl.data import Dataset
from automl.engine import SearchFigures, SearchJob, SearchSettings
from automl.engine.progress import Progress
from automl.errors import DataError, SearchError
from automl.finish import refits
from automl.options import DEFAULT_BUDGET_S, FitOptions
from automl.prepare import PreparedData
from automl.study import (
    check_new_study,
    close_interrupted_trials,
    existing_study_dir,
    load_records,
    new_study_dir,
    read_config,
    seconds_spent,
    write_config,
)

FINISH_SHARE = 0.15  # of the budget, reserved for the finish: refits on small data, export
# a finish that trains nothing (cross-validated or large data: the kept networks are
# exported as they are) needs less
KEPT_FINISH_SHARE = 0.05
MIN_FINISH_S = 12.0
MAX_FINISH_S = 900.0
MIN_SEARCH_S = 5.0  # less than this left for the search after loading: stop before starting Ray


def finish_reserve(budget_s: float, retrains: bool = True) -> float:
    share = FINISH_SHARE if retrains else KEPT_FINISH_SHARE
    return float(np.clip(share * budget_s, MIN_FINISH_S, MAX_FINISH_S))


class StudyRun:
    """The run of a study this command makes; a context manager that releases the study and
    records the run's end (in that order) however the fit ends."""

    def __init__(
        self,
        options: FitOptions,
        started: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.options = options
        self.started = clock() if started is None else started
        self.clock = clock
        self.study_dir: Path | None = None
        self.config: dict[str, Any] = {}
        self.record: dict[str, Any] = {}  # this run's entry in config["runs"]
        self.deadline: Deadline | None = None
        self.settings: SearchSettings | None = None  # this run's, once started
        self.spent_before_s = 0.0  # by the study's earlier runs
        self.rerun: list[dict[str, Any]] | None = None  # a resume's interrupted trials
        self.trials_kept = 0
        self._cleanup = contextlib.ExitStack()

    def __enter__(self) -> StudyRun:
        options = self.options
        if options.resume:  # claimed before any work: one driver per study
            self.study_dir = existing_study_dir(Path(options.studies_dir), options.study)
            self._claim()
            self.config = read_config(self.study_dir)
            self.options = options.with_recorded(self.config.get("options", {}))
        else:
            check_new_study(Path(options.studies_dir), options.study)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._cleanup.close()

    def _claim(self) -> None:
        driver.claim(self.study_dir)
        self._cleanup.callback(driver.release, self.study_dir)

    @property
    def resumed(self) -> bool:
        return self.options.resume

    def start(self, dataset: Dataset, prepared: PreparedData) -> None:
        """Create (or take up) the study, work out this run's budget and record the run."""
        options = self.options
        if self.resumed:
            self._check_same_data(prepared)
            total_s = options.study_budget_s or self.config["budget_s"]
            self.spent_before_s = seconds_spent(self.study_dir, self.config)
            self.rerun = close_interrupted_trials(self.study_dir)
            self.trials_kept = sum(not r.interrupted for r in load_records(self.study_dir))
        else:
            self.study_dir = new_study_dir(Path(options.studies_dir), options.study, dataset.name)
            self._claim()
            total_s = options.study_budget_s or DEFAULT_BUDGET_S
            self.config = new_config(self.study_dir, dataset, options, prepared)
        self.deadline = Deadline(
            total_s - self.spent_before_s, start=self.started, clock=self.clock
        )
        self.settings = self._search_settings(total_s)
        self.record = {
            "run_id": f"{int(time.time())}-{os.getpid()}",
            "started_at": time.time() - (self.clock() - self.started),
            "budget_s": round(self.deadline.total, 3),
            "resumed": self.resumed,
            "settings": dataclasses.asdict(self.settings),
        }
        self.config["budget_s"] = total_s
        self.config.setdefault("runs", []).append(self.record)
        self._cleanup.callback(self._end)  # runs before the release: last in, first out
        write_config(self.study_dir, self.config)

    def _search_settings(self, study_budget_s: float) -> SearchSettings:
        """This run's settings: the study's trial total less the trials it already has, and
        the epochs its budget buys."""
        options = self.options
        epochs = options.max_epochs or epochs_for_budget(study_budget_s)
        run_max_trials = options.study_max_trials
        if run_max_trials is not None and self.resumed:
            run_max_trials -= self.trials_kept
        return SearchSettings(
            max_epochs=epochs,
            patience=patience_for(epochs),
            seed=options.seed,
            address=options.address,
            run_max_trials=run_max_trials,
            concurrent_trials=options.concurrent_trials,
            trial_timeout_s=options.trial_timeout_s,
            gpus_per_trial=options.gpus_per_trial,
        )

    def search_job(self, prepared: PreparedData) -> SearchJob | None:
        """The search of this run, or None when the study's trial total is reached. Raises
        SearchError when too little of the budget is left to search at all."""
        # the finish trains when it refits, or when a cluster's workers kept the networks
        data = prepared.data
        retrains = self.options.address is not None or refits(
            data.n_folds, len(data.X_train) + len(data.X_val)
        )
        reserve = finish_reserve(self.deadline.total, retrains)
        search_deadline = self.deadline.sub(reserve)
        if search_deadline.remaining() < MIN_SEARCH_S:
            if self.resumed:
                raise SearchError(
                    f"The study '{self.study_dir.name}' has used {self.spent_before_s:.0f}s of "
                    f"its {self.config['budget_s']:.0f}s budget; pass a larger --budget (the "
                    "study's total) to continue it."
                )
            raise SearchError(
                f"Loading and preparing the data took {self.deadline.elapsed():.0f}s of the "
                f"{self.deadline.total:.0f}s budget, leaving no time to search; give a longer "
                "--budget."
            )
        settings = self.settings
        if settings.run_max_trials is not None and settings.run_max_trials <= 0:
            return None
        progress = Progress(self.deadline) if self.options.verbose else None
        return SearchJob(
            self.study_dir,
            prepared.task,
            prepared.data,
            search_deadline,
            settings,
            self.record["run_id"],
            points=self.rerun,
            progress=progress,
        )

    def record_search(self, figures: SearchFigures) -> None:
        """Keep the search's figures in the run's record."""
        self.record["search"] = figures.as_dict()

    def record_result(
        self, figures: SearchFigures, trials: int, peak_memory: dict[str, float]
    ) -> dict[str, Any]:
        """Once the model is made: the study's search figures, the command's wall time and
        peak memory."""
        self.config["search"] = {**figures.as_dict(), "trials": trials, "peak_memory": peak_memory}
        self.config["wall_time_s"] = round(self.deadline.elapsed(), 3)
        return self.config["search"]

    def describe(self) -> str:
        """The study line printed as the search starts (and a resume's line before it)."""
        line = f"study: {self.study_dir} | budget {format_seconds(self.deadline.remaining())} left"
        if not self.resumed:
            return line
        return (
            f"resuming: {self.trials_kept} trials kept, {len(self.rerun)} interrupted ones to "
            f"re-run, {format_seconds(self.spent_before_s)} of the budget used before\n{line}"
        )

    def _end(self) -> None:
        # on the run's own clock, so a resume's accounting follows the clock the run used
        self.record["ended_at"] = self.record["started_at"] + self.deadline.elapsed()
        self.config["budget_used_s"] = round(self.spent_before_s + self.deadline.elapsed(), 3)
        write_config(self.study_dir, self.config)

    def _check_same_data(self, prepared: PreparedData) -> None:
        recorded = self.config["data"]["fingerprint"]
        if prepared.fingerprint != recorded:
            raise DataError(
                f"This data differs from the data the study '{self.study_dir.name}' searched "
                f"(fingerprint {prepared.fingerprint}, recorded {recorded}); resume with the "
                "same data, or leave --resume out to start a new study."
            )


def new_config(
    study_dir: Path, dataset: Dataset, options: FitOptions, prepared: PreparedData
) -> dict[str, Any]:
    """What config.json records of a new study: the resolved options, the task, the data's
    description and fingerprint, and the library versions."""
    from automl.bundle import library_versions

    data = prepared.data
    return {
        "study_name": study_dir.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": options.seed,
        "options": options.recorded(),
        "task": prepared.task.to_dict(),
        "selection": prepared.selection.as_dict(),
        "data": {
            "name": dataset.name,
            "evidence": dataset.evidence,
            "notes": dataset.notes,
            "n_train": len(data.X_train),
            "n_val": len(data.X_val),
            "n_test": 0 if prepared.test is None else len(prepared.test[0]),
            "source": dataset.source,
            "target_name": dataset.target_name,
            "fingerprint": prepared.fingerprint,
        },
        "versions": {**library_versions(), "ray": importlib.metadata.version("ray")},
    }


def printer(verbose: bool) -> Callable[[str], None]:
    """What a fit says as it goes: to stderr, unless it was asked to be quiet."""

    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return say
