"""One trial: build the family's network, train it, report every epoch through a callback.

Nothing here knows Ray or Optuna: the Ray executor passes `tune.report` as the callback and the
in-process executor its own, so the same trial runs in a Ray worker or in the driver.
"""

from __future__ import annotations

import dataclasses
import gc
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.engine.cluster import peak_memory_mb
from automl.engine.settings import SearchData, SearchSettings
from automl.engine.space import TRIAL_NUMBER_KEY
from automl.errors import TrialFailed
from automl.families import Family
from automl.kept_networks import keep_best
from automl.task_info import TaskInfo
from automl.trainer import EpochStats, TrainingConfig, TrainResult, train_networks
from automl.trial_record import Attr

METRIC = "best_score"  # best validation score so far (EpochStats); accuracy or R^2, maximised
ERROR_KEY = "error"  # a failure's report carries its reason instead of a score
PEAK_MEMORY = "peak_memory_mb"  # in every epoch's `extra`: the process's peak resident memory
Report = Callable[[dict[str, Any]], None]


def run_trial(
    config: dict[str, Any],
    data: SearchData,
    task: TaskInfo,
    settings: SearchSettings,
    families: dict[str, Family],
    report: Report,
    device: str = "cpu",
    facts: dict[str, Any] | None = None,
    interrupt: Callable[[], bool] | None = None,
    study_dir: Path | None = None,
    time_s: float | None = None,
    cap_s: float | None = None,
) -> None:
    """Train the trial `config` describes; `report` gets every epoch's stats (and `facts`,
    such as where it ran), or a failure's reason. Never raises for a failure of the trial.

    Cross-validated data trains one network per fold, in step (automl.trainer). The best
    epoch's networks and outputs are kept under `study_dir` as they improve
    (automl.kept_networks).

    Families arrive with the trial rather than from the registry, so families registered by
    the user's own code (a notebook, a script) run on workers and clusters too. Out of memory
    on a GPU, the trial is retried once from scratch at half the batch size. `interrupt()`,
    asked after every step, stops training at once (a time cap, the budget, Ctrl-C).
    `time_s`, the seconds it has (its cap `cap_s`, or less when the search ends sooner),
    plans its epochs to end in time (automl.trainer.plan_training).
    """
    number = int(config[TRIAL_NUMBER_KEY])
    params = {k: v for k, v in config.items() if k != TRIAL_NUMBER_KEY}
    # Reused workers keep global state between trials: reset what training depends on.
    torch.set_num_threads(max(1, int(settings.cpus_per_trial)))
    facts = {**(facts or {}), Attr.DEVICE: device}
    epoch = 0
    began = time.monotonic()

    def on_epoch(stats: EpochStats) -> None:
        nonlocal epoch
        epoch = stats.epoch
        stats.extra[PEAK_MEMORY] = peak_memory_mb()  # the worker's, the data's copy included
        report({**stats.as_dict(), **facts})

    def keep(result: TrainResult) -> None:
        if study_dir is not None:  # unlabelled: one network is exported, no blend to choose
            keep_best(study_dir, number, result, outputs=task.target_kind != "none")

    def train(training: TrainingConfig) -> None:
        torch.manual_seed(settings.seed + number)
        splits = data.splits(task)
        models = [families[params["family"]].build(params, task).to(device) for _ in splits]
        # the exported bag runs every fold's network: its latency is theirs together
        one = latency_ms(models[0], splits[0].val[0][:1].to(device))
        facts[Attr.LATENCY_MS] = round(one * len(models), 4)
        train_networks(
            models,
            task,
            splits,
            training,
            on_epoch=on_epoch,
            seed=settings.seed + number,
            interrupt=interrupt,
            on_best=keep,
            time_s=None if time_s is None else time_s - (time.monotonic() - began),
            cap_s=cap_s,
        )

    try:
        training = TrainingConfig.from_params(params, settings.max_epochs, settings.patience)
        try:
            train(training)
        except torch.OutOfMemoryError:
            if epoch or training.batch_size < 2:
                raise  # only a trial that has reported nothing restarts cleanly
            free_device_memory(device)
            # reported with every result from now on, a second failure's included
            facts[Attr.OOM_RETRY_BATCH] = training.batch_size // 2
            train(dataclasses.replace(training, batch_size=training.batch_size // 2))
    except TrialFailed as exc:
        report({ERROR_KEY: str(exc), "epoch": epoch, **facts})
    except Exception as exc:  # noqa: BLE001 - any failure of one trial is recorded, never fatal
        report({ERROR_KEY: failure_reason(exc), "epoch": epoch, **facts})
    finally:
        free_device_memory(device)


def failure_reason(exc: BaseException) -> str:
    """'Type: message (file.py:line)', one line, where the exception was raised."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    reason = f"{type(exc).__name__}: {exc} ({Path(where.filename).name}:{where.lineno})"
    return reason.splitlines()[0][:500]


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


def free_device_memory(device: str) -> None:
    """Reused workers keep the CUDA cache of the previous trial: hand it back to the GPU."""
    if device == "cuda":
        gc.collect()
        torch.cuda.empty_cache()
