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
from torch import nn

from automl.budget import Deadline, format_seconds
from automl.errors import ConfigError, TrialFailed
from automl.families import Family, get_family
from automl.layers import count_parameters, layer_summary
from automl.study import (
    DEVICE_ATTR,
    LATENCY_ATTR,
    NODE_ATTR,
    OOM_RETRY_ATTR,
    RUN_ID_ATTR,
    open_storage,
)
from automl.task import TaskInfo
from automl.trainer import EpochStats, TrainingConfig, to_tensors, train_model

# Set before Ray is imported: no per-trial result files, no strict metric check (a failed trial
# reports its reason without a score).
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Tune's own experiment state is never restored (a resume starts from study.db): write it
# rarely instead of every few steps.
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "3600")

METRIC = "best_score"  # best validation score so far (EpochStats); accuracy or R^2, maximised
TRIAL_NUMBER_KEY = "trial_number"
GRACE_EPOCHS = 3
REDUCTION_FACTOR = 3
TRIALS_DIR = "trials"
EPOCH_FIELDS = tuple(f.name for f in dataclasses.fields(EpochStats))  # kept in metrics.json
EXTRA_PREFIX = "extra/"  # EpochStats.extra as Tune flattens it
INTERRUPT_MARGIN_S = 5.0  # Tune returns within ~2.5 s of its budget; earlier means Ctrl-C
ADDRESS_TIMEOUT_S = 5.0  # to reach a cluster's head before giving up
PROGRESS_EVERY_S = 10.0  # a line at least this often while trials finish
PROGRESS_MIN_GAP_S = 2.0  # and at most this often when the best score improves
MIN_TRIAL_CAP_S = 60.0  # a trial's default time cap: a quarter of the search, at least this
TRIAL_CAP_SHARE = 0.25
# Default GPU share of a trial from the size of the largest default network: small networks
# leave a GPU mostly idle, so several trials share one (Ray's fractions are logical: each
# trial still has the whole memory, and an out-of-memory error is retried at half the batch).
GPU_SHARE_BY_PARAMS = ((5_000_000, 0.25), (50_000_000, 0.5))


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
    gpus_per_trial: float | None = None  # None: from the model size, when the cluster has GPUs
    concurrent_trials: int | None = None  # None: as many as the CPUs (or GPU shares) allow
    trial_timeout_s: float | None = None  # None: a quarter of the search, at least a minute
    max_trials: int | None = None  # trials to start in this run; None: until the deadline
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
        trial.set_user_attr(RUN_ID_ATTR, self.run_id)
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
            self._timed_out: dict[str, str] = {}  # trial id -> why the time cap stopped it
            self._noted: set[str] = set()  # trials whose node and device are recorded

        def mark_timed_out(self, trial_id: str, reason: str) -> None:
            """Called by the scheduler just before it stops a trial past its time cap."""
            self._timed_out[trial_id] = reason

        def suggest(self, trial_id: str) -> dict | None:
            self._started[trial_id] = time.time()
            return super().suggest(trial_id)

        def on_trial_result(self, trial_id: str, result: dict) -> None:
            self._note_trial_facts(trial_id, result)
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

        def _note_trial_facts(self, trial_id: str, result: dict) -> None:
            """Where the trial ran and whether it was retried at a smaller batch: every
            result carries them, the first one is recorded (a retry comes before any)."""
            ot_trial = self._ot_trials.get(trial_id)
            if ot_trial is None or trial_id in self._noted:
                return
            self._noted.add(trial_id)
            for key in (NODE_ATTR, DEVICE_ATTR, LATENCY_ATTR, OOM_RETRY_ATTR):
                if key in result:
                    ot_trial.set_user_attr(key, result[key])

        def on_trial_complete(
            self, trial_id: str, result: dict | None = None, error: bool = False
        ) -> None:
            self._close(trial_id, result or {}, error)

        def closed(self) -> int:
            """How many trials of this run have ended."""
            return len(self._completed_trials)

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
            self._noted.discard(trial_id)
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
            timed_out = self._timed_out.pop(trial_id, None)
            if timed_out and not history:
                state = optuna.trial.TrialState.FAIL
                ot_trial.set_user_attr("fail_reason", timed_out)
            elif timed_out:  # its epochs so far still rank it, like a trial ASHA stopped
                ot_trial.set_user_attr("stop_reason", timed_out)
            elif "error" in result or error:
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
    Out of memory on a GPU, the trial is retried once from scratch at half the batch size.
    """
    import ray
    from ray import tune

    number = int(config[TRIAL_NUMBER_KEY])
    params = {k: v for k, v in config.items() if k != TRIAL_NUMBER_KEY}
    # Reused actors keep global state between trials: reset what training depends on.
    torch.set_num_threads(max(1, int(settings.cpus_per_trial)))
    device = "cuda" if torch.cuda.is_available() and _ray_gpu_assigned() else "cpu"
    facts: dict[str, Any] = {
        NODE_ATTR: ray.get_runtime_context().get_node_id()[:12],
        DEVICE_ATTR: device,
    }
    epoch = 0

    def report(stats: EpochStats) -> None:
        nonlocal epoch
        epoch = stats.epoch
        tune.report({**stats.as_dict(), **facts})

    def train(training: TrainingConfig) -> None:
        torch.manual_seed(settings.seed + number)
        model = families[params["family"]].build(params, task).to(device)
        train_split, val_split = data.tensors(task)
        facts[LATENCY_ATTR] = latency_ms(model, val_split[0][:1].to(device))
        train_model(
            model,
            task,
            train_split,
            val_split,
            training,
            on_epoch=report,
            seed=settings.seed + number,
        )

    try:
        training = TrainingConfig.from_params(params, settings.max_epochs, settings.patience)
        try:
            train(training)
        except torch.OutOfMemoryError:
            if epoch or training.batch_size < 2:
                raise  # only a trial that has reported nothing restarts cleanly
            _free_device_memory(device)
            # reported with every result from now on, a second failure's included
            facts[OOM_RETRY_ATTR] = training.batch_size // 2
            train(dataclasses.replace(training, batch_size=training.batch_size // 2))
    except TrialFailed as exc:
        tune.report({"error": str(exc), "epoch": epoch, **facts})
    except Exception as exc:  # noqa: BLE001 - any failure of one trial is recorded, never fatal
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
        tune.report({"error": reason.splitlines()[0][:500], "epoch": epoch, **facts})
    finally:
        _free_device_memory(device)


@torch.no_grad()
def latency_ms(model: nn.Module, sample: torch.Tensor, repeats: int = 7) -> float:
    """Milliseconds to predict one sample on the trial's device (the median of a few runs,
    after one to warm up). Weights do not change it, so it is measured before training: a
    trial stopped early still has it, for the dashboard's score-against-latency view."""
    model.eval()
    times = []
    for _ in range(repeats + 1):
        started = time.perf_counter()
        model(sample)
        if sample.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    model.train()
    return round(1000 * float(np.median(times[1:])), 4)


def _free_device_memory(device: str) -> None:
    """Reused actors keep the CUDA cache of the previous trial: hand it back to the GPU."""
    if device == "cuda":
        import gc

        gc.collect()
        torch.cuda.empty_cache()


def _ray_gpu_assigned() -> bool:
    import ray

    return bool(ray.get_gpu_ids())


def default_points(task: TaskInfo) -> list[dict[str, Any]]:
    """Each family's default configuration: the first trials of a new study."""
    return [{"family": name, **get_family(name).defaults(task)} for name in task.families]


def run_search(
    study_dir: Path,
    task: TaskInfo,
    data: SearchData,
    search_deadline: Deadline,
    settings: SearchSettings,
    progress: Any = None,
    points: list[dict[str, Any]] | None = None,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Search until `search_deadline` (or `settings.max_trials`); every trial ends up
    recorded in study.db.

    `points` are configurations to try first (by default each family's defaults; a resumed
    study passes the trials it re-runs instead). Returns the search's own figures: wall
    seconds of Tune's run, the resolved resources, and whether it was interrupted (Ctrl-C).
    """
    import optuna
    import ray
    from ray import tune

    run_id = run_id or f"{int(time.time())}"
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
        # A resumed study continues with a sampler seeded past the trials it has, so its
        # sequence of proposals never replays the first run's.
        try:
            done = len(storage.get_all_trials(storage.get_study_id_from_name(study_dir.name)))
        except KeyError:  # a new study: OptunaSearch creates it
            done = 0
        sampler = optuna.samplers.TPESampler(
            multivariate=True,
            group=True,
            constant_liar=True,
            seed=settings.seed + done,
            n_startup_trials=8,
        )
        searcher = _make_searcher_class()(
            SearchSpace(task, trials_dir, run_id),
            metric=METRIC,
            mode="max",
            points_to_evaluate=default_points(task) if points is None else points or None,
            sampler=sampler,
            study_name=study_dir.name,
            storage=storage,
            trials_dir=trials_dir,
        )
        resources = trial_resources(task, settings)
        concurrency = settings.concurrent_trials or _fitting_trials(resources)
        cap_s = settings.trial_timeout_s or max(
            MIN_TRIAL_CAP_S, TRIAL_CAP_SHARE * search_deadline.remaining()
        )
        scheduler = _make_scheduler_class()(
            time_attr="training_iteration",
            metric=METRIC,
            mode="max",
            max_t=settings.max_epochs,
            grace_period=min(GRACE_EPOCHS, settings.max_epochs),
            reduction_factor=REDUCTION_FACTOR,
            time_cap_s=cap_s,
            searcher=searcher,
        )
        families = {name: get_family(name) for name in task.families}
        _ship_user_families(families)
        trainable = tune.with_resources(
            tune.with_parameters(
                run_trial, data=data, task=task, settings=settings, families=families
            ),
            resources,
        )
        callbacks = [_silent_trial_printer(), *([progress] if progress is not None else [])]
        tuner = tune.Tuner(
            trainable,
            tune_config=tune.TuneConfig(
                search_alg=searcher,
                scheduler=scheduler,
                num_samples=settings.max_trials or -1,
                max_concurrent_trials=concurrency,
                reuse_actors=True,
            ),
            run_config=tune.RunConfig(
                name=f"tune-{run_id}",  # a new Tune experiment per run: a resume never restores
                storage_path=str((study_dir / "ray").resolve()),
                verbose=0,
                callbacks=callbacks,
                stop=_make_deadline_stopper(search_deadline),
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            ),
        )
        started = time.monotonic()
        tuner.fit()
        # Tune turns Ctrl-C into a graceful stop and returns early: the search was interrupted.
        ran_all = settings.max_trials is not None and searcher.closed() >= settings.max_trials
        interrupted = search_deadline.remaining() > INTERRUPT_MARGIN_S and not ran_all
        searcher.close_unfinished(
            "stopped when the search was interrupted"
            if interrupted
            else "stopped by the time budget"
        )
        return {
            "seconds": round(time.monotonic() - started, 3),
            "concurrency": concurrency,
            "resources_per_trial": resources,
            "trial_timeout_s": round(cap_s, 1),
            "interrupted": interrupted,
        }
    finally:
        if started_ray:
            ray.shutdown()


def _silent_trial_printer():
    """Tune adds a printer of trial results unless one is given, and it prints a line for a
    trial stopped from outside whatever the verbosity: give it one that prints nothing."""
    from ray.tune.progress_reporter import TrialProgressCallback

    class SilentTrialPrinter(TrialProgressCallback):
        def _print(self, msg: str) -> None:
            pass

    return SilentTrialPrinter()


def _make_deadline_stopper(deadline: Deadline):
    """Stops every running trial the moment the search's deadline passes. Tune's own
    time_budget_s counts from its first step, seconds after the command's clock started."""
    from ray.tune import Stopper

    class DeadlineStopper(Stopper):
        def __call__(self, trial_id: str, result: dict) -> bool:
            return False

        def stop_all(self) -> bool:
            return deadline.expired()

    return DeadlineStopper()


def _make_scheduler_class():
    """ASHA, plus a time cap per trial; built in a function because Tune is imported late."""
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import ASHAScheduler

    class CappedASHA(ASHAScheduler):
        """ASHA early stopping, and a trial running longer than `time_cap_s` is stopped.

        The cap is checked at every controller step (Tune asks the scheduler which trial to
        run next about every 0.1 s), so a trial that hangs without reporting is stopped too;
        its worker is replaced if it does not return.
        """

        def __init__(self, *args: Any, time_cap_s: float, searcher: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self._cap_s = time_cap_s
            self._searcher = searcher
            self._running_since: dict[str, float] = {}

        def choose_trial_to_run(self, tune_controller: Any) -> Any:
            now = time.monotonic()
            for trial in list(tune_controller.get_live_trials()):
                if trial.status != Trial.RUNNING:
                    continue
                began = self._running_since.setdefault(trial.trial_id, now)
                if now - began > self._cap_s:
                    self._searcher.mark_timed_out(
                        trial.trial_id,
                        f"exceeded its time cap of {format_seconds(self._cap_s)} (--trial-timeout)",
                    )
                    tune_controller.stop_trial(trial)
            return super().choose_trial_to_run(tune_controller)

    return CappedASHA


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


def cluster_address(explicit: str | None) -> str | None:
    """The Ray cluster to search on: the one given, else $RAY_ADDRESS, else None (a local Ray
    for this search). Resolved here once: ray.init reads $RAY_ADDRESS by itself, and would
    then refuse the CPU count a local start passes."""
    return explicit or os.environ.get("RAY_ADDRESS") or None


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
            "ray://host:port of a running cluster, or leave --address out (and RAY_ADDRESS unset) "
            "to search locally."
        ) from exc


def usable_cpus() -> int:
    """CPUs this process may run on (cgroup/affinity limits included, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def trial_resources(task: TaskInfo, settings: SearchSettings) -> dict[str, float]:
    """What one trial asks Ray for: its CPUs and, on a cluster with GPUs, a share of one."""
    import ray

    resources = {"cpu": settings.cpus_per_trial}
    gpus = settings.gpus_per_trial
    if gpus is None and ray.cluster_resources().get("GPU", 0) > 0:
        gpus = default_gpu_share(task)
    if gpus:
        resources["gpu"] = gpus
    return resources


def default_gpu_share(task: TaskInfo) -> float:
    """The GPU share of a trial, from the largest default network among the task's families
    (counted on the `meta` device: nothing is allocated)."""
    largest = 0
    with torch.device("meta"):
        for point in default_points(task):
            try:
                model = get_family(point["family"]).build(point, task)
            except Exception:  # noqa: BLE001 - a family that cannot build is judged by its trials
                continue
            largest = max(largest, count_parameters(model))
    for limit, share in GPU_SHARE_BY_PARAMS:
        if largest <= limit:
            return share
    return 1.0


def _fitting_trials(resources: dict[str, float]) -> int:
    """How many trials of this size the cluster runs at once."""
    import ray

    total = ray.cluster_resources()
    fits = [total.get(key.upper(), 0.0) / need for key, need in resources.items() if need > 0]
    return max(1, int(min(fits)))


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
