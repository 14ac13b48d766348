"""A run's search as the executors receive it (SearchJob), what they report of it
(SearchFigures), and what both executors set up alike (the study's storage and sampler)."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from automl.budget import Deadline
from automl.engine.progress import Progress
from automl.engine.settings import SearchData, SearchSettings
from automl.engine.space import SearchSpace, default_points
from automl.families import Family
from automl.search_spaces import get_family
from automl.task_info import TaskInfo

MIN_TRIAL_CAP_S = 60.0  # a trial's default time cap: a quarter of the search, at least this
TRIAL_CAP_SHARE = 0.25
STARTUP_TRIALS = 8  # TPE's random start


@dataclass
class SearchJob:
    """One run's search: where it records, what it searches, until when."""

    study_dir: Path
    task: TaskInfo
    data: SearchData
    deadline: Deadline  # the search's own (the finish's reserve already taken off)
    settings: SearchSettings
    run_id: str
    points: list[dict[str, Any]] | None = None  # tried first; None: each family's defaults
    progress: Progress | None = None

    def space(self) -> SearchSpace:
        return SearchSpace(self.task, self.study_dir, self.run_id)

    def families(self) -> dict[str, Family]:
        """The families searched, handed to every trial (a user's own included)."""
        return {name: get_family(name) for name in self.task.families}

    def first_points(self) -> list[dict[str, Any]]:
        """The points enqueued first, no more than the run starts: none is left waiting."""
        points = default_points(self.task) if self.points is None else self.points
        return points[: self.settings.run_max_trials]

    def trial_cap_s(self) -> float:
        return self.settings.trial_timeout_s or max(
            MIN_TRIAL_CAP_S, TRIAL_CAP_SHARE * self.deadline.remaining()
        )


@dataclass
class SearchFigures:
    """What a run's search reports of itself (kept in config.json)."""

    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C
    concurrency: int | None = None
    resources_per_trial: dict[str, float] = field(default_factory=dict)
    trial_timeout_s: float | None = None
    executor: str | None = None  # "ray" or "in_process"

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def uses_ray(settings: SearchSettings) -> bool:
    """Ray runs every search but a one-trial run on this machine: there its start-up (seconds)
    and worker processes buy nothing (bench/run.py executors measures both)."""
    one_trial = settings.run_max_trials == 1 and (settings.concurrent_trials or 1) == 1
    return not one_trial or settings.address is not None


def open_study_sampler(job: SearchJob) -> tuple[Any, Any]:
    """(storage, sampler) of the job's study. A resumed study continues with a sampler seeded
    past the trials it has, so its sequence of proposals never replays the first run's."""
    import optuna

    from automl.study import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = open_storage(job.study_dir)
    try:
        done = len(storage.get_all_trials(storage.get_study_id_from_name(job.study_dir.name)))
    except KeyError:  # a new study
        done = 0
    sampler = optuna.samplers.TPESampler(
        multivariate=True,
        group=True,
        constant_liar=True,
        seed=job.settings.seed + done,
        n_startup_trials=STARTUP_TRIALS,
    )
    return storage, sampler
