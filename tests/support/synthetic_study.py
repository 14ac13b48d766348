"""A study written through Optuna's API, shaped like one `automl fit` writes.

The dashboard's scale test and benchmark need thousands of trials; a real search of that size
takes hours here. Every trial gets what the searcher records (family, parameters, per-epoch
scores, n_params, epochs, times, reasons) and a summary.json, so every view has data.

`grow_synthetic_study` adds the same trials one by one, as a running search does, for the
dashboard's live tests: the study's driver.json says a search runs until the last one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import random
import sqlite3
import threading
from pathlib import Path
from typing import Any

import optuna

from automl.driver import claim, release
from automl.study import STUDY_DB, open_storage, write_config
from automl.trial_record import METRICS_FILE, SUMMARY_FILE, Attr, trial_dir

FAMILIES = ("mlp", "dbn")
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # trial n starts 2n seconds after it
HOLD_S = 120  # the longest a grown study waits to be watched


def write_synthetic_study(study_dir: Path, n_trials: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    study_dir.mkdir(parents=True)
    study, storage = _create_study(study_dir, seed)
    try:
        study.add_trials([synthetic_trial(study_dir, number, rng) for number in range(n_trials)])
    finally:
        _close(storage, study_dir)
    return study_dir


def grow_synthetic_study(
    study_dir: Path,
    n_trials: int,
    seed: int = 0,
    every_s: float = 0.4,
    stop: threading.Event | None = None,
    watched: threading.Event | None = None,
    started: threading.Event | None = None,
) -> Path:
    """Create the study, then add the trials `write_synthetic_study` writes (with each one's
    metrics.json too), one every `every_s` seconds, as a live search would; the study is
    claimed (driver.json, this process) until the last one or until `stop` is set.

    `started` is set once the first trial is in. With `watched`, the others wait until it is
    set (at most HOLD_S seconds), so a test can look at the study while its search surely runs.
    """
    stop = stop or threading.Event()
    rng = random.Random(seed)
    study_dir.mkdir(parents=True)
    claim(study_dir)
    storage = None
    try:
        study, storage = _create_study(study_dir, seed)
        for number in range(n_trials):
            if number == 1 and watched is not None:
                watched.wait(HOLD_S)
            if number and stop.wait(every_s):
                break
            study.add_trial(synthetic_trial(study_dir, number, rng, metrics=True))
            if started is not None:
                started.set()
    finally:
        if storage is not None:
            _close(storage, study_dir)
        release(study_dir)
    return study_dir


def _close(storage: optuna.storages.RDBStorage, study_dir: Path) -> None:
    """Close every connection and fold the write-ahead log into the database, as the exit of
    a search's process does. Left to the garbage collector, the last connection would do it
    inside whichever later test happens to collect it (which then sees the study change)."""
    storage.remove_session()
    storage.engine.dispose()
    with contextlib.closing(sqlite3.connect(study_dir / STUDY_DB)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _create_study(study_dir: Path, seed: int) -> tuple[optuna.Study, Any]:
    """config.json and an empty Optuna study (and its storage)."""
    write_config(
        study_dir,
        {
            "study_name": study_dir.name,
            "seed": seed,
            "task": {
                "modality": "tabular",
                "target_kind": "multiclass",
                "row": "classification",
                "families": list(FAMILIES),
                "reason": "synthetic: 64 numeric columns; 10 classes -> classification -> mlp, dbn",
                "labelled": True,
                "input_shape": [64],
            },
            "selection": {
                "scheme": "cv",
                "folds": 5,
                "reason": "synthetic: 500 rows, scored by 5-fold cross-validation",
            },
            "runs": [],
        },
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = open_storage(study_dir)
    study = optuna.create_study(study_name=study_dir.name, storage=storage, direction="maximize")
    return study, storage


def synthetic_trial(
    study_dir: Path, number: int, rng: random.Random, metrics: bool = False
) -> optuna.trial.FrozenTrial:
    """Trial `number`, drawn from `rng`: its summary.json (and, with `metrics`, a metrics.json
    of per-epoch losses) is written; the trial is returned for the study to add."""
    family = FAMILIES[number % 2]
    layers = rng.randint(1, 3)
    units = rng.choice([32, 64, 128, 256, 512])
    params = {
        "family": family,
        f"{family}.n_layers": layers,
        f"{family}.units": units,
        f"{family}.lr": 10 ** rng.uniform(-4, -1),
        f"{family}.optimizer": rng.choice(["adam", "sgd"]),
    }
    dists = {
        "family": optuna.distributions.CategoricalDistribution(list(FAMILIES)),
        f"{family}.n_layers": optuna.distributions.IntDistribution(1, 3),
        f"{family}.units": optuna.distributions.CategoricalDistribution([32, 64, 128, 256, 512]),
        f"{family}.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
        f"{family}.optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd"]),
    }
    n_params = 64 * units + (layers - 1) * units * units + units * 10
    quality = 0.97 - 0.25 * abs(math.log10(params[f"{family}.lr"]) + 2.5) / 1.5
    epochs = rng.randint(3, 20)  # the score depends on the learning rate, nearly alone
    curve = {e: quality * (1 - math.exp(-e)) + rng.gauss(0, 0.01) for e in range(1, epochs + 1)}
    began = START + dt.timedelta(seconds=2 * number)
    fate = rng.random()
    state, value, attrs = optuna.trial.TrialState.COMPLETE, curve[epochs], {}
    if fate < 0.3:
        state, value = optuna.trial.TrialState.PRUNED, None
        attrs["stop_reason"] = f"stopped early by ASHA after epoch {epochs}"
    elif fate < 0.33:
        state, value, curve = optuna.trial.TrialState.FAIL, None, {}
        attrs["fail_reason"] = "RuntimeError: synthetic failure"
    attrs.update(
        family=family,
        n_params=n_params,
        epochs_completed=len(curve),
        wall_time_s=0.2 * len(curve) + 0.5,
        train_time_s=0.2 * len(curve),
        latency_ms=n_params / 2e5,
        **{Attr.RUN_ID: "synthetic"},
    )
    if value is not None:
        attrs["best_val_loss"] = 1.0 - value
    if curve:  # scored: its folds' spread (no draw from rng: the trials stay as they were)
        attrs.update(folds=5, score_spread=0.01 * (number % 5 + 1))
    trial = optuna.trial.create_trial(
        state=state,
        value=value,
        params=params,
        distributions=dists,
        user_attrs=attrs,
        intermediate_values=curve,
    )
    trial.datetime_start = began
    trial.datetime_complete = began + dt.timedelta(seconds=attrs["wall_time_s"])
    summary = {
        "number": number,
        "family": family,
        "params": params,
        "n_params": n_params,
        "layers": _layers(layers, units),
    }
    directory = trial_dir(study_dir, number)
    directory.mkdir(parents=True)
    (directory / SUMMARY_FILE).write_text(json.dumps(summary))
    if metrics:  # losses follow the score, so no draw from rng: the trials stay the same
        history = [
            {"epoch": e, "score": s, "val_loss": 1.0 - s, "train_loss": 0.9 * (1.0 - s),
             "seconds": 0.2, "extra": {}}
            for e, s in curve.items()
        ]  # fmt: skip
        (directory / METRICS_FILE).write_text(json.dumps(history))
    return trial


def _layers(n_layers: int, units: int) -> list[dict]:
    rows, width = [], 64
    for i in range(n_layers):
        rows += [
            {
                "name": f"body.{i}.0",
                "type": "Linear",
                "output_shape": [units],
                "params": width * units + units,
            },
            {"name": f"body.{i}.1", "type": "ReLU", "output_shape": [units], "params": 0},
        ]
        width = units
    rows.append({"name": "head", "type": "Linear", "output_shape": [10], "params": width * 10 + 10})
    return rows
