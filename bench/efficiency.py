"""Search efficiency on 2-second trials: the share of worker time spent training.

    python bench/run.py efficiency --budget 3m

Every trial trains the same network (an MLP 64-512-512-10 on the digits table: 14 376 noisy
copies of sklearn's digits) for 4 epochs of about 0.5 s; only the learning rate is searched,
so trials cost about the same and what differs between systems is their overhead. automl
(AutoDeep in this process, so the fixed family can be registered) runs first; then Ray Tune
with its defaults runs the same training function for the same wall time. Efficiency =
seconds inside training epochs, summed over trials / (wall of the search x trials run at once).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from datasets import noisy_digits_table  # bench/datasets.py, beside this script
from torch import nn

from automl import AutoDeep
from automl.families import Family, register_family

ROWS = frozenset({"classification"})
EPOCHS = 4
WIDTH = 512


def _network(n_inputs: int, n_outputs: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_inputs, WIDTH),
        nn.ReLU(),
        nn.Linear(WIDTH, WIDTH),
        nn.ReLU(),
        nn.Linear(WIDTH, n_outputs),
    )


def _suggest(trial, task):
    return {"fixed.train_lr": trial.suggest_float("fixed.train_lr", 1e-4, 3e-3, log=True)}


FIXED = register_family(
    Family(
        "fixed",
        ROWS,
        _suggest,
        lambda params, task: _network(task.input_shape[0], task.output_dim),
        lambda task: {"fixed.train_lr": 1e-3},
        summary="the same MLP every trial, learning rate searched (efficiency benchmark)",
    )
)


def _automl(X, y, runs_dir, study_figures, budget: str) -> dict:
    started = time.monotonic()
    est = AutoDeep(
        budget=budget,
        families=["fixed"],
        max_epochs=EPOCHS,
        studies_dir=runs_dir / "studies",
        verbose=False,
    ).fit(X, y)
    return {"wall_s": time.monotonic() - started, **study_figures(est.study_dir_)}


def _tune_defaults(X, y, seconds: float) -> dict:
    """Ray Tune as its documentation starts: a function trainable, default TuneConfig (one
    trial per CPU), the same network, data and epochs; only the time budget is set."""
    import ray
    from ray import tune

    def train(config, data):
        X_all, y_all = (torch.from_numpy(a) for a in data)
        n_train = int(0.8 * len(X_all))
        model = _network(X_all.shape[1], 10)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config["lr"])
        trained_s = 0.0  # reported cumulatively: Tune keeps the last result of each trial
        for _ in range(EPOCHS):
            began = time.perf_counter()
            for index in torch.randperm(n_train).split(64):
                loss = nn.functional.cross_entropy(model(X_all[index]), y_all[index])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                accuracy = (model(X_all[n_train:]).argmax(1) == y_all[n_train:]).float().mean()
            trained_s += time.perf_counter() - began
            tune.report({"accuracy": float(accuracy), "trained_s": trained_s})

    ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    try:
        started = time.monotonic()
        tuner = tune.Tuner(
            tune.with_parameters(train, data=(X, y.astype(np.int64))),
            param_space={"lr": tune.loguniform(1e-4, 3e-3)},
            tune_config=tune.TuneConfig(num_samples=-1, time_budget_s=seconds),
        )
        results = tuner.fit()
        wall = time.monotonic() - started
        concurrency = int(ray.cluster_resources().get("CPU", 1))
    finally:
        ray.shutdown()
    # trials that trained at least one epoch (the endless sample keeps more waiting)
    trained = [r.metrics["trained_s"] for r in results if (r.metrics or {}).get("trained_s")]
    return {
        "wall_s": wall,
        "trials": len(trained),
        "trials_complete": sum(
            r.metrics.get("training_iteration") == EPOCHS for r in results if r.metrics
        ),
        "trials_failed": sum(r.error is not None for r in results),
        "efficiency": sum(trained) / (wall * concurrency),
        "mean_trial_train_s": sum(trained) / max(1, len(trained)),
        "search_s": wall,
    }


def bench_efficiency(runs_dir, study_figures, budget: str, baseline: bool) -> list[dict]:
    X, y = noisy_digits_table()
    X = X.astype(np.float32)
    ours = _automl(X, y, runs_dir, study_figures, budget)
    rows = [{"system": "automl (Ray Tune + Optuna)", **ours}]
    if baseline:
        rows.append({"system": "Ray Tune defaults", **_tune_defaults(X, y, ours["search_s"])})
    return [
        {
            "dataset": "digits table, the same MLP every trial (~2 s trials)",
            "metric": "-",
            "budget": budget,
            **row,
        }
        for row in rows
    ]
