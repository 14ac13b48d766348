"""The Ray Tune executor: trials in reused Ray workers, ASHA early stopping, a time cap per
trial, the search's deadline, on this machine or a cluster.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl.engine.cluster import (
    fitting_trials,
    ship_user_families,
    start_ray,
    trial_resources,
)
from automl.engine.job import SearchFigures, SearchJob, open_study_sampler
from automl.engine.scheduler import TimeCaps, make_scheduler
from automl.engine.searcher import make_searcher
from automl.engine.settings import SearchData, SearchSettings
from automl.engine.space import TRIAL_NUMBER_KEY, fallback_points
from automl.engine.trial import ERROR_KEY, METRIC, run_trial
from automl.families import Family
from automl.task_info import TaskInfo
from automl.trial_record import BUDGET_STOP, INTERRUPT_STOP, Attr, trial_dir

INTERRUPT_MARGIN_S = 5.0  # Tune returns within ~2.5 s of its budget; earlier means Ctrl-C
RAY_DIR = "ray"  # Tune's experiment state, under the study
STARTED_FILE = "started"  # trials/<n>/started: written when the trial's work begins
START_UP_S = 60.0  # a worker that cannot say it started gets this on top of its cap


def mark_started(study_dir: Path, number: int) -> None:
    """Say the trial began its work (its worker started, its data fetched), for its time cap:
    nothing when the study's directory is not on this machine or not writable here (the cap
    then allows START_UP_S more; the trial itself must not fail for it)."""
    if study_dir.is_dir():
        directory = trial_dir(study_dir, number)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / STARTED_FILE).touch()
        except OSError:
            pass


def started_seconds_ago(study_dir: Path) -> Callable[[dict[str, Any]], float | None]:
    """A trial config's seconds since its worker marked it started (None: not yet)."""

    def seconds_ago(config: dict[str, Any]) -> float | None:
        marker = trial_dir(study_dir, config[TRIAL_NUMBER_KEY]) / STARTED_FILE
        try:
            return time.time() - marker.stat().st_mtime
        except OSError:
            return None

    return seconds_ago


def ray_trial(
    config: dict[str, Any],
    data: SearchData,
    task: TaskInfo,
    settings: SearchSettings,
    families: dict[str, Family],
    study_dir: str,
    cap_s: float,
    search_ends_at: float,
) -> None:
    """The trial function in a Ray worker: `run_trial` reporting through `tune.report`, on
    the device Ray assigned, planned to end within its cap and the search (`search_ends_at`,
    wall-clock time: the worker's monotonic clock is not the driver's on a cluster)."""
    import ray
    import torch
    from ray import tune

    device = "cuda" if torch.cuda.is_available() and ray.get_gpu_ids() else "cpu"
    node = ray.get_runtime_context().get_node_id()[:12]
    mark_started(Path(study_dir), int(config[TRIAL_NUMBER_KEY]))
    run_trial(
        config,
        data,
        task,
        settings,
        families,
        tune.report,
        device,
        facts={Attr.NODE: node},
        study_dir=Path(study_dir),
        time_s=max(0.0, min(cap_s, search_ends_at - time.time())),
        cap_s=cap_s,
    )


def _grace(families: dict[str, Family]) -> Any:
    """A trial config's grace in epochs, as its family sets it (0: the scheduler's own)."""

    def grace(config: dict[str, Any]) -> int:
        family = families.get(config.get("family"))
        return family.grace_epochs(config) if family and family.grace_epochs else 0

    return grace


def run_with_ray(job: SearchJob) -> SearchFigures:
    import ray
    from ray import tune

    settings = job.settings
    started_ray = not ray.is_initialized()
    if started_ray:
        start_ray(settings.address)
    try:
        for noisy in ("ray", "ray.tune", "ray.train", "ray.air"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        # The space's first call pays one-off torch start-up (~1 s on `meta`); later ones ~5 ms.
        warnings.filterwarnings("ignore", message="Define-by-run function passed in the `space`")
        storage, sampler = open_study_sampler(job)
        caps = TimeCaps(job.trial_cap_s(), job.deadline.clock, start_up_s=START_UP_S)
        searcher = make_searcher(
            job.space(),
            study_dir=job.study_dir,
            caps=caps,
            storage=storage,
            sampler=sampler,
            points=job.first_points() or None,
            fallbacks=fallback_points(job.task),
        )
        resources = trial_resources(job.task, settings)
        concurrency = settings.concurrent_trials or fitting_trials(resources)
        families = job.families()
        ship_user_families(families)
        trainable = tune.with_resources(
            tune.with_parameters(
                ray_trial,
                data=job.data,
                task=job.task,
                settings=settings,
                families=families,
                study_dir=str(job.study_dir.resolve()),
                cap_s=caps.cap_s,
                search_ends_at=time.time() + job.deadline.remaining(),
            ),
            resources,
        )
        callbacks = [_silent_trial_printer()]
        if job.progress is not None:
            callbacks.append(_progress_callback(job.progress))
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=make_scheduler(
                    settings.max_epochs,
                    caps,
                    _grace(families),
                    started_seconds_ago(job.study_dir.resolve()),
                ),
                num_samples=settings.run_max_trials or -1,
                max_concurrent_trials=concurrency,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=f"tune-{job.run_id}",  # a new Tune experiment per run: a resume never restores
                storage_path=str((job.study_dir / RAY_DIR).resolve()),
                verbose=0,
                callbacks=callbacks,
                stop=_deadline_stopper(job.deadline),
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            ),
        )
        started = job.deadline.now()
        tuner.fit()
        # Tune turns Ctrl-C into a graceful stop and returns early: the search was interrupted.
        ran_all = (
            settings.run_max_trials is not None and searcher.closed() >= settings.run_max_trials
        )
        interrupted = job.deadline.remaining() > INTERRUPT_MARGIN_S and not ran_all
        searcher.close_unfinished(INTERRUPT_STOP if interrupted else BUDGET_STOP)
        return SearchFigures(
            seconds=round(job.deadline.now() - started, 3),
            interrupted=interrupted,
            concurrency=concurrency,
            resources_per_trial=resources,
            trial_timeout_s=round(caps.cap_s, 1),
            executor="ray",
        )
    finally:
        if started_ray:
            ray.shutdown()


def _silent_trial_printer() -> Any:
    """Tune adds a printer of trial results unless one is given, and it prints a line for a
    trial stopped from outside whatever the verbosity: give it one that prints nothing."""
    from ray.tune.progress_reporter import TrialProgressCallback

    class SilentTrialPrinter(TrialProgressCallback):
        def _print(self, msg: str) -> None:
            pass

    return SilentTrialPrinter()


def _deadline_stopper(deadline: Any) -> Any:
    """Stops every running trial the moment the search's deadline passes. Tune's own
    time_budget_s counts from its first step, seconds after the command's clock started."""
    from ray.tune import Stopper

    class DeadlineStopper(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return False

        def stop_all(self) -> bool:
            return deadline.expired()

    return DeadlineStopper()


def _progress_callback(progress: Any) -> Any:
    """Tune's callbacks, told to the Progress lines."""
    from ray.tune import Callback

    class ProgressCallback(Callback):
        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if METRIC in result:
                progress.on_score(result[METRIC], trial.config.get("family"))

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            progress.on_trial_end(failed=ERROR_KEY in (trial.last_result or {}))

    return ProgressCallback()
