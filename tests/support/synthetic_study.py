"""A large study written through Optuna's API, shaped like one `automl fit` writes.

The dashboard's scale test and benchmark need thousands of trials; a real search of that size
takes hours here. Every trial gets what the searcher records (family, parameters, per-epoch
scores, n_params, epochs, times, reasons) and a summary.json, so every view has data.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from pathlib import Path

import optuna

from automl.study import open_storage, write_config
from automl.trial_record import Attr

FAMILIES = ("mlp", "dbn")


def write_synthetic_study(study_dir: Path, n_trials: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    study_dir.mkdir(parents=True)
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
            "runs": [],
        },
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_dir.name, storage=open_storage(study_dir), direction="maximize"
    )
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    trials = []
    for number in range(n_trials):
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
            f"{family}.units": optuna.distributions.CategoricalDistribution(
                [32, 64, 128, 256, 512]
            ),
            f"{family}.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
            f"{family}.optimizer": optuna.distributions.CategoricalDistribution(["adam", "sgd"]),
        }
        n_params = 64 * units + (layers - 1) * units * units + units * 10
        quality = 0.97 - 0.25 * abs(math.log10(params[f"{family}.lr"]) + 2.5) / 1.5
        epochs = rng.randint(3, 20)  # the score depends on the learning rate, nearly alone
        curve = {e: quality * (1 - math.exp(-e)) + rng.gauss(0, 0.01) for e in range(1, epochs + 1)}
        began = start + dt.timedelta(seconds=2 * number)
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
        trials.append(
            optuna.trial.create_trial(
                state=state,
                value=value,
                params=params,
                distributions=dists,
                user_attrs=attrs,
                intermediate_values=curve,
            )
        )
        trials[-1].datetime_start = began
        trials[-1].datetime_complete = began + dt.timedelta(seconds=attrs["wall_time_s"])
        summary = {
            "number": number,
            "family": family,
            "params": params,
            "n_params": n_params,
            "layers": _layers(layers, units),
        }
        trial_dir = study_dir / "trials" / str(number)
        trial_dir.mkdir(parents=True)
        (trial_dir / "summary.json").write_text(json.dumps(summary))
    study.add_trials(trials)
    return study_dir


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
