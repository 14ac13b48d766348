"""The search engine: Ray Tune schedules, Optuna decides, the study on disk records.

Ray Tune runs trials (actors reused, ASHA early stopping, a hard time budget) and OptunaSearch
proposes them from a define-by-run space over the candidate families, stored in
`studies/<name>/study.db`. `StudySearcher` adjusts what Optuna is told: trials stopped early are
PRUNED rather than COMPLETE with a one-epoch score, failures are FAIL with their reason, and
every trial carries its family, parameter count, epochs completed and wall time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from automl.budget import Deadline, format_seconds
from automl.errors import ConfigError, TrialFailed
from automl.families import Family, get_family
from automl.layers import count_parameters, layer_summary
from automl.study import open_storage
from automl.task import TaskInfo
from automl.trainer import EpochStats, TrainingConfig, to_tensors, train_model

# Set before Ray is imported: no per-trial result files, no strict metric check (a failed trial
# reports its reason without a score).
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

METRIC = "best_score"  # best validation score so far (EpochStats); accuracy or R^2, maximised
TRIAL_NUMBER_KEY = "trial_number"
GRACE_EPOCHS = 3
REDUCTION_FACTOR = 3
MAX_TRIALS_PER_GPU = 4
TRIALS_DIR = "trials"
EPOCH_FIELDS = tuple(f.name for f in dataclasses.fields(EpochStats))  # kept in metrics.json
EXTRA_PREFIX = "extra/"  # EpochStats.extra as Tune flattens it
INTERRUPT_MARGIN_S = 5.0  # Tune returns within ~2.5 s of its budget; earlier means Ctrl-C
ADDRESS_TIMEOUT_S = 5.0  # to reach a cluster's head before giving up
PROGRESS_EVERY_S = 10.0  # a line at least this often while trials finish
PROGRESS_MIN_GAP_S = 2.0  # and at most this often when the best score improves


@dataclass(frozen=True)
class SearchData:
    """Preprocessed arrays, put in Ray's object store once and shared by every trial."""

    X_train: np.ndarray
    y_train: np.ndarray | None  # None for unlabelled data, which is its own target
    X_val: np.ndarray
    y_val: np.ndarray | None

    def tensors(self, task: TaskInfo) -> tuple[tuple[torch.Tensor, ...], tuple[torch.Tensor, ...]]:
        """(train, val) as (features, targets) tensor pairs."""
        return (
            to_tensors(self.X_train, self.y_train, task),
            to_tensors(self.X_val, self.y_val, task),
        )


@dataclass(frozen=True)
class SearchSettings:
    max_epochs: int = 30
    patience: int = 8
    seed: int = 0
    cpus_per_trial: float = 1.0
    address: str | None = None  # None: a local Ray started (and stopped) for this search


class SearchSpace:
    """The define-by-run space: pick a family, then ask that family for its parameters.

    A class rather than a closure so Tune can pickle the searcher with its experiment state.
    It also writes each trial's architecture summary (computed on the `meta` device, no memory).
    """

    def __init__(self, task: TaskInfo, trials_dir: Path, run_id: str) -> None:
        self.task = task
        self.trials_dir = trials_dir
        self.run_id = run_id

    def __call__(self, trial: Any) -> dict[str, Any]:
        family_name = trial.suggest_categorical("family", list(self.task.families))
        family = get_family(family_name)
        params = {"family": family_name, **family.suggest(trial, self.task)}
        trial.set_user_attr("family", family_name)
        trial.set_user_attr("run_id", self.run_id)
        summary: dict[str, Any] = {"number": trial.number, "family": family_name, "params": params}
        try:
            with torch.device("meta"):
                model = family.build(params, self.task)
                summary["n_params"] = count_parameters(model)
                trial.set_user_attr("n_params", summary["n_params"])
                summary["layers"] = layer_summary(
                    model, self.task.input_shape, tokens=self.task.vocab_size is not None
                )
        except Exception as exc:  # noqa: BLE001 - the trial itself fails and records why
            summary["error"] = f"{type(exc).__name__}: {exc}"
        _write_json(self.trials_dir / str(trial.number) / "summary.json", summary)
        return {TRIAL_NUMBER_KEY: trial.number}


def _make_searcher_class():
    """StudySearcher subclasses OptunaSearch, which is only importable once Ray is."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    class StudySearcher(OptunaSearch):
        """OptunaSearch that records what happened to each trial in the study and trials/<n>/."""

        def __init__(self, *args: Any, trials_dir: Path, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._trials_dir = trials_dir
            self._history: dict[str, list[dict[str, Any]]] = {}
            self._started: dict[str, float] = {}

        def suggest(self, trial_id: str) -> dict | None:
            self._started[trial_id] = time.time()
            return super().suggest(trial_id)

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            if METRIC not in result:
                return  # a failure report: it carries a reason, not a score
            record = {k: result[k] for k in EPOCH_FIELDS if k in result}
            # Tune flattens nested dicts ('extra/pretrain_seconds') before a searcher sees them
            record["extra"] = {
                k.removeprefix(EXTRA_PREFIX): v
                for k, v in result.items()
                if k.startswith(EXTRA_PREFIX)
            }
            self._history.setdefault(trial_id, []).append(record)
            super().on_trial_result(trial_id, result)

        def on_trial_complete(
            self, trial_id: str, result: dict | None = None, error: bool = False
        ) -> None:
            self._close(trial_id, result or {}, error)

        def close_unfinished(self, reason: str) -> None:
            """Trials cut by the time budget never hear on_trial_complete: close them now."""
            for trial_id in list(self._ot_trials):
                self._close(trial_id, {}, False, stop_reason=reason)

        def _close(
            self, trial_id: str, result: dict, error: bool, stop_reason: str | None = None
        ) -> None:
            """Tell Optuna how the trial ended and write its per-epoch history."""
            if trial_id in self._completed_trials or trial_id not in self._ot_trials:
                return
            # Tune does not pass the result that ends a trial to on_trial_result: record it here.
            seen = self._history.get(trial_id, [])
            if METRIC in result and (not seen or result.get("epoch", 0) > seen[-1]["epoch"]):
                self.on_trial_result(trial_id, result)
            ot_trial = self._ot_trials[trial_id]
            history = self._history.pop(trial_id, [])
            started = self._started.pop(trial_id, time.time())
            ot_trial.set_user_attr("epochs_completed", len(history))
            ot_trial.set_user_attr("wall_time_s", round(time.time() - started, 3))
            # pretraining (a DBN's, reported with the first epoch) is training time too
            pretrain_s = history[0].get("extra", {}).get("pretrain_seconds", 0.0) if history else 0
            ot_trial.set_user_attr(
                "train_time_s", round(pretrain_s + sum(h.get("seconds", 0.0) for h in history), 3)
            )
            if pretrain_s:
                ot_trial.set_user_attr("pretrain_time_s", round(pretrain_s, 3))
            value, state = None, optuna.trial.TrialState.PRUNED
            if "error" in result or error:
                state = optuna.trial.TrialState.FAIL
                reason = result.get("error") or "the trial's worker process crashed"
                ot_trial.set_user_attr("fail_reason", reason)
            elif result.get("finished") and METRIC in result:
                value, state = float(result[METRIC]), optuna.trial.TrialState.COMPLETE
                ot_trial.set_user_attr("best_val_loss", float(result["best_val_loss"]))
            else:
                ot_trial.set_user_attr(
                    "stop_reason",
                    stop_reason or f"stopped early by ASHA after epoch {len(history)}",
                )
            _write_json(self._trials_dir / str(ot_trial.number) / "metrics.json", history)
            self._ot_study.tell(ot_trial, value, state=state)
            self._completed_trials.add(trial_id)

    return StudySearcher


def run_trial(
    config: dict[str, Any],
    data: SearchData,
    task: TaskInfo,
    settings: SearchSettings,
    families: dict[str, Family],
):
    """One trial in a Ray worker: build the family's model, train it, report every epoch.

    Families arrive with the trial rather than from the worker's registry, so families
    registered by the user's own code (a notebook, a script) run on workers and clusters too.
    """
    from ray import tune

    number = int(config[TRIAL_NUMBER_KEY])
    params = {k: v for k, v in config.items() if k != TRIAL_NUMBER_KEY}
    # Reused actors keep global state between trials: reset what training depends on.
    torch.set_num_threads(max(1, int(settings.cpus_per_trial)))
    torch.manual_seed(settings.seed + number)
    device = "cuda" if torch.cuda.is_available() and _ray_gpu_assigned() else "cpu"
    epoch = 0

    def report(stats: EpochStats) -> None:
        nonlocal epoch
        epoch = stats.epoch
        tune.report(stats.as_dict())

    try:
        model = families[params["family"]].build(params, task).to(device)
        training = TrainingConfig.from_params(params, settings.max_epochs, settings.patience)
        train, val = data.tensors(task)
        train_model(model, task, train, val, training, on_epoch=report, seed=settings.seed + number)
    except TrialFailed as exc:
        tune.report({"error": str(exc), "epoch": epoch})
    except Exception as exc:  # noqa: BLE001 - any failure of one trial is recorded, never fatal
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        tune.report({"error": reason.splitlines()[0][:500], "epoch": epoch})
    finally:
        if device == "cuda":
            torch.cuda.empty_cache()


def _ray_gpu_assigned() -> bool:
    import ray

    return bool(ray.get_gpu_ids())


def run_search(
    study_dir: Path,
    task: TaskInfo,
    data: SearchData,
    search_deadline: Deadline,
    settings: SearchSettings,
    progress: Any = None,
) -> dict[str, float]:
    """Search until `search_deadline`; every trial ends up recorded in study.db.

    Returns the search's own figures: wall seconds of Tune's run, the trial concurrency, and
    whether it was interrupted (Ctrl-C) before its deadline.
    """
    import optuna
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler

    run_id = f"{int(time.time())}"
    trials_dir = study_dir / TRIALS_DIR
    started_ray = not ray.is_initialized()
    if started_ray:
        _start_ray(settings.address)
    try:
        for noisy in ("ray", "ray.tune", "ray.train", "ray.air"):
            logging.getLogger(noisy).setLevel(logging.CRITICAL)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        # The space's first call pays one-off torch start-up (~1 s on `meta`); later ones ~5 ms.
        warnings.filterwarnings("ignore", message="Define-by-run function passed in the `space`")
        storage = open_storage(study_dir)
        sampler = optuna.samplers.TPESampler(
            multivariate=True,
            group=True,
            constant_liar=True,
            seed=settings.seed,
            n_startup_trials=8,
        )
        searcher = _make_searcher_class()(
            SearchSpace(task, trials_dir, run_id),
            metric=METRIC,
            mode="max",
            points_to_evaluate=[
                {"family": name, **get_family(name).defaults(task)} for name in task.families
            ],
            sampler=sampler,
            study_name=study_dir.name,
            storage=storage,
            trials_dir=trials_dir,
        )
        scheduler = ASHAScheduler(
            time_attr="training_iteration",
            metric=METRIC,
            mode="max",
            max_t=settings.max_epochs,
            grace_period=min(GRACE_EPOCHS, settings.max_epochs),
            reduction_factor=REDUCTION_FACTOR,
        )
        resources = _trial_resources(settings)
        concurrency = max(1, int(ray.cluster_resources().get("CPU", 1) // settings.cpus_per_trial))
        families = {name: get_family(name) for name in task.families}
        _ship_user_families(families)
        trainable = tune.with_resources(
            tune.with_parameters(
                run_trial, data=data, task=task, settings=settings, families=families
            ),
            resources,
        )
        callbacks = [progress] if progress is not None else []
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=scheduler,
                num_samples=-1,
                max_concurrent_trials=concurrency,
                reuse_actors=True,
                time_budget_s=max(1.0, search_deadline.remaining()),
            ),
            run_config=tune.RunConfig(
                name="tune",
                storage_path=str((study_dir / "ray").resolve()),
                verbose=0,
                callbacks=callbacks,
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            ),
        )
        started = time.monotonic()
        tuner.fit()
        # Tune turns Ctrl-C into a graceful stop and returns early: the search was interrupted.
        interrupted = search_deadline.remaining() > INTERRUPT_MARGIN_S
        searcher.close_unfinished(
            "stopped when the search was interrupted"
            if interrupted
            else "stopped by the time budget"
        )
        return {
            "seconds": round(time.monotonic() - started, 3),
            "concurrency": concurrency,
            "interrupted": interrupted,
        }
    finally:
        if started_ray:
            ray.shutdown()


def _ship_user_families(families: dict[str, Family]) -> None:
    """Pickle families defined outside automl by value: workers may not be able to import them."""
    from ray import cloudpickle

    for family in families.values():
        module = sys.modules.get(family.build.__module__)
        if module is not None and not module.__name__.startswith("automl"):
            if module.__name__ != "__main__":  # __main__ is pickled by value already
                cloudpickle.register_pickle_by_value(module)


def _start_ray(address: str | None) -> None:
    import ray

    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    if address:
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(
                f"Cannot connect to the Ray cluster at '{address}': {str(exc).splitlines()[0]}. "
                "Check the address, or leave --address out to search on this machine."
            ) from exc
    else:
        ray.init(num_cpus=usable_cpus(), **kwargs)


def check_address(address: str) -> None:
    """Fail in seconds on an address nothing listens at: ray.init itself retries for minutes."""
    import socket

    if address == "auto":
        return  # Ray resolves it from the local session files and fails fast when there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), ADDRESS_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot reach a Ray cluster at '{address}' ({exc}); pass auto, host:port or "
            "ray://host:port of a running cluster, or leave --address out to search locally."
        ) from exc


def usable_cpus() -> int:
    """CPUs this process may run on (cgroup/affinity limits included, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _trial_resources(settings: SearchSettings) -> dict[str, float]:
    import ray

    resources = {"cpu": settings.cpus_per_trial}
    if ray.cluster_resources().get("GPU", 0) > 0:
        resources["gpu"] = 1.0 / MAX_TRIALS_PER_GPU  # small trials share a GPU
    return resources


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    tmp.replace(path)


def make_progress(deadline: Deadline):
    """A Tune callback printing trials done, best so far and time left (at most every few
    seconds).

    Built in a function because tune.Callback is only importable once Ray is.
    """
    from ray.tune import Callback

    class _Progress(Callback):
        def __init__(self) -> None:
            self.done = 0
            self.failed = 0
            self.best: tuple[float, str] | None = None
            self._last_print = 0.0

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            if METRIC in result and (self.best is None or result[METRIC] > self.best[0]):
                self.best = (float(result[METRIC]), str(trial.config.get("family")))
                if time.monotonic() - self._last_print > PROGRESS_MIN_GAP_S:
                    self._print()

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            self.done += 1
            if "error" in (trial.last_result or {}):
                self.failed += 1
            if time.monotonic() - self._last_print > PROGRESS_EVERY_S:
                self._print()

        def _print(self) -> None:
            self._last_print = time.monotonic()
            best = f"best {self.best[0]:.4f} ({self.best[1]})" if self.best else "best -"
            failed = f" ({self.failed} failed)" if self.failed else ""
            line = (
                f"trials {self.done} done{failed} | {best} | "
                f"{format_seconds(deadline.remaining())} left"
            )
            print(line, file=sys.stderr, flush=True)  # looked up now: Tune pickles callbacks

    return _Progress()
