"""Where Ray pays for itself: the same searches run by the in-process executor (trials one
after another in this process) and by the Ray executor (a local Ray started for the search,
2 workers), timed from the start of the search to its end, Ray's start and stop included.

    python bench/run.py executors

Two workloads: tiny trials (breast cancer, an MLP, 5 epochs: about a tenth of a second each)
and small ones (1 200 digits, a CNN, 5 epochs: a few seconds each); 1, 2, 4 and 8 trials.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_digits

TRIALS = (1, 2, 4, 8)


def _prepared(name: str):
    from automl.data import from_memory
    from automl.prepare import prepare_data
    from automl.task import detect_task

    if name == "tiny":
        X, y = load_breast_cancer(return_X_y=True)
        families = ["mlp"]
    else:
        digits = load_digits()
        X, y = digits.images[:1200], digits.target[:1200]
        families = ["cnn"]
    dataset = from_memory(X, y)
    return prepare_data(dataset, detect_task(dataset, families=families), seed=0)


def _search(study_dir: Path, prepared, n: int, executor: str) -> dict:
    import ray

    from automl.budget import Deadline
    from automl.engine import SearchJob, SearchSettings
    from automl.engine.in_process import run_in_process
    from automl.engine.ray_executor import run_with_ray
    from automl.study import load_records, write_config
    from automl.trial_record import Attr

    shutil.rmtree(study_dir, ignore_errors=True)
    write_config(study_dir, {"study_name": study_dir.name})
    settings = SearchSettings(max_epochs=5, seed=0, run_max_trials=n)
    job = SearchJob(study_dir, prepared.task, prepared.data, Deadline(600), settings, "bench")
    assert not ray.is_initialized()  # the Ray executor starts (and stops) its own
    started = time.monotonic()
    figures = (run_in_process if executor == "in_process" else run_with_ray)(job)
    wall = time.monotonic() - started
    records = load_records(study_dir)
    train_s = sum(r.get(Attr.TRAIN_TIME_S, 0.0) for r in records)
    return {
        "wall_s": wall,
        "trials": len(records),
        "trials_complete": sum(r.state == "COMPLETE" for r in records),
        "trials_failed": sum(r.state == "FAIL" for r in records),
        "mean_trial_train_s": train_s / max(1, len(records)),
        "efficiency": train_s / (wall * (figures.concurrency or 1)),
    }


def bench_executors(runs_dir: Path, budget: str, baseline: bool) -> list[dict]:
    rows = []
    for workload in ("tiny", "small"):
        prepared = _prepared(workload)
        for n in TRIALS:
            for executor in ("in_process", "ray"):
                figures = _search(runs_dir / "executors" / "study", prepared, n, executor)
                rows.append(
                    {
                        "dataset": f"{workload} trials x {n}",
                        "metric": "-",
                        "budget": "-",
                        "system": "in-process executor"
                        if executor == "in_process"
                        else "Ray executor (local Ray started, 2 workers)",
                        **figures,
                    }
                )
                print(rows[-1], flush=True)
    return rows
