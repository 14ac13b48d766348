"""The fit, shared by the CLI and AutoDeep, as its stages:

    prepare  (automl.prepare)    detect the task, split the rows, fit the preprocessing
    run      (automl.study_run)  claim the study, record the run, resume, split the budget
    search   (automl.engine)     Optuna's trials, run by Ray (or in process), into study.db
    finish   (automl.finish)     ensemble selection over the best trials' networks, export best/

One Deadline flows down: the search gets what remains minus a reserve, and the finish
(training the top trials to completion, averaging them and exporting) spends the reserve.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.budget import format_seconds
from automl.data import Dataset
from automl.engine import SearchFigures, run_search
from automl.engine.cluster import check_address, cluster_address, peak_memory_mb
from automl.finish import FinishedModel, Member, finish
from automl.model_records import record_forecast, record_predictions
from automl.options import FitOptions
from automl.predictor import Predictor
from automl.prepare import PreparedData, prepare
from automl.study import load_records
from automl.study_run import StudyRun, printer
from automl.task_info import TaskInfo
from automl.trial_record import Attr, TrialRecord


@dataclass
class FitResult:
    """What a fit made and how it went."""

    study_dir: Path
    task: TaskInfo
    model: FinishedModel
    search: dict[str, Any]  # the search's figures (SearchFigures) and the study's trial count
    budget_s: float  # this command's budget (a resumed study's: what was left of it)

    @property
    def predictor(self) -> Predictor:
        return self.model.predictor

    @property
    def members(self) -> list[Member]:
        """The exported trials, best first."""
        return self.model.members

    @property
    def validation_score(self) -> float:
        """The exported ensemble's score on the validation split."""
        return self.model.validation_score


def _record_predictions(
    study_dir: Path,
    dataset: Dataset,
    prepared: PreparedData,
    model: FinishedModel,
    seed: int,
    say: Callable[[str], None],
) -> None:
    """The exported model's predictions on the held-out rows, for the dashboard's model view.
    The model is already exported: a failure here is a note, not a failed fit."""
    outputs = {"val": model.validation_outputs}
    inputs = {"val": prepared.data.X_val}
    if model.test_outputs is not None and prepared.test is not None:
        outputs["test"], inputs["test"] = model.test_outputs, prepared.test[0]
    try:
        if prepared.task.target_kind == "forecasting":
            next_values = model.predictor.forecast_series(
                dataset.X, list(dataset.ids), dataset.times
            )
            record_forecast(study_dir, dataset, prepared, model.validation_outputs, next_values)
            return
        nodes = model.predictor.network.node_probabilities
        record_predictions(
            study_dir, dataset, prepared.task, prepared.preprocessing, prepared.rows, outputs,
            inputs, seed, nodes if model.predictor.has_tree_network else None,
        )  # fmt: skip
    except (OSError, ValueError, TypeError) as exc:
        say(f"note: the model view's predictions were not recorded ({exc})")


def peak_memory(records: list[TrialRecord]) -> dict[str, float]:
    """Peak resident memory in MB: this process's (loading, preparing, the finish, and the
    trials when they ran in it) and the largest of the trials' worker processes."""
    peaks = {"this_process_mb": peak_memory_mb()}
    trials = [r.get(Attr.PEAK_MEMORY_MB) for r in records if r.get(Attr.PEAK_MEMORY_MB)]
    if trials:
        peaks["trial_worker_mb"] = max(trials)
    return peaks


def fit_dataset(
    dataset: Dataset,
    options: FitOptions,
    started: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> FitResult:
    """Run the whole search on a loaded dataset; the best model ends up in <study>/best/.

    `started` is when the command began on `clock` (loading the data counts against the
    budget). With `options.resume`, the named study continues: its interrupted trials are
    re-run, and only what is left of its budget is spent.
    """
    options = dataclasses.replace(options, address=cluster_address(options.address))
    if options.address:
        check_address(options.address)
    say = printer(options.verbose)
    with StudyRun(options, started, clock) as run:
        prepared = prepare(dataset, run.options, say)
        run.start(dataset, prepared)
        say(run.describe())
        job = run.search_job(prepared)
        figures = run_search(job) if job is not None else SearchFigures()
        if figures.interrupted:
            say("search interrupted: finishing with the trials so far (Ctrl-C again to abort)")
        run.record_search(figures)
        records = load_records(run.study_dir)
        say(
            "finishing: ensemble selection over the best trials' networks, "
            f"{format_seconds(run.deadline.remaining())} left"
        )
        model = finish(
            run.study_dir,
            records,
            prepared,
            run.settings,
            run.deadline,
            dataset.source,
            dataset.target_name,
        )
        _record_predictions(run.study_dir, dataset, prepared, model, run.settings.seed, say)
        search = run.record_result(figures, len(records), peak_memory(records))
        return FitResult(run.study_dir, prepared.task, model, search, run.deadline.total)
