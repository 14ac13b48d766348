"""Small-data benchmark (issue 16): automl against MiniRocket and ROCKET on small archive
series sets, and against LDA, logistic regression and gradient boosting on small tables,
every anchor in the same invocation. Registered in bench/run.py:

    python bench/run.py small_data                  # all five problems, automl and anchors
    python bench/run.py small_data --anchors-only   # the anchors alone (--no-baseline: automl)
    python bench/run.py small_gunpoint --budget 5m  # one problem; also small_acsf1,
                                                    # small_pickup, small_iris, small_cancer
    python bench/run.py small_ablation              # GunPoint and breast_cancer scored on one
                                                    # validation split (--selection holdout)

Series: the archive's own split as .ts files, 5 min each, scored once on the test split by
the fit; "best trial alone" is the top-ranked trial's kept networks on the same test split (what
ensemble selection added). Anchors: aeon 1.6.0's MiniRocketClassifier and RocketClassifier
(random_state 0) on the same files (PickupGestureWiimoteZ: the archive's equal-length "_eq"
files, as they need equal lengths; automl reads the variable-length ones); InceptionTime: the
mean of the 30 resamples in aeon's bundled results file.
Tables: 10-fold stratified CV (seed 0), 1 min per fold; the anchors on the same folds: LDA,
logistic regression with C chosen by 5-fold CV (standardised), HistGradientBoosting.

aeon 1.6.0 pins numpy < 2.4, which automl's environment has, so it is installed apart and the
series anchors run in that interpreter ($AEON_PYTHON, default bench/runs/aeon/bin/python):
    python -m venv --system-site-packages bench/runs/aeon
    bench/runs/aeon/bin/pip install aeon==1.6.0
The UCR files come from the aeon wheel: pip download --no-deps aeon==1.6.0 -d bench/runs/sources
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
SOURCES = BENCH / "runs" / "sources"
DATA = BENCH / "runs" / "data"
STUDIES = BENCH / "runs" / "studies"
AEON_PYTHON = Path(os.environ.get("AEON_PYTHON", BENCH / "runs" / "aeon" / "bin" / "python"))
SERIES = {
    "small_gunpoint": "GunPoint",
    "small_acsf1": "ACSF1",
    "small_pickup": "PickupGestureWiimoteZ",
}
TABLES = {"small_iris": "iris", "small_cancer": "breast_cancer"}
SERIES_BUDGET = "5m"
FOLD_BUDGET = "1m"
TABLE_FOLDS = 10
AUTOML = "automl (Ray Tune + Optuna)"
RESULTS = "aeon/testing/example_results_files/classification/accuracy/InceptionTime_accuracy.csv"


def _wheel() -> Path:
    wheels = sorted(SOURCES.glob("aeon-1.6.0-*.whl"))
    if not wheels:
        raise SystemExit("pip download --no-deps aeon==1.6.0 -d bench/runs/sources first")
    return wheels[0]


def write_ucr(name: str) -> Path:
    """NAME_TRAIN.ts and NAME_TEST.ts (and the _eq pair where there is one) under DATA/name."""
    folder = DATA / name
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(_wheel()) as wheel:
        for member in wheel.namelist():
            if member.startswith(f"aeon/datasets/data/{name}/") and member.endswith(".ts"):
                (folder / Path(member).name).write_bytes(wheel.read(member))
    eq = folder.parent / f"{name}_eq"  # the anchors' copy; automl reads `folder` alone
    for split in ("TRAIN", "TEST"):
        source = folder / f"{name}_eq_{split}.ts"
        if source.exists():
            eq.mkdir(exist_ok=True)
            source.replace(eq / f"{name}_{split}.ts")
    return folder


def inception_time_mean(name: str) -> float | None:
    with zipfile.ZipFile(_wheel()) as wheel:
        for line in wheel.read(RESULTS).decode().splitlines()[1:]:
            cells = line.rstrip(",").split(",")
            if cells[0] == name:
                return float(np.mean([float(c) for c in cells[1:] if c]))
    return None


def series_anchors(name: str) -> dict:
    """MiniRocket and ROCKET on the archive split, in aeon's interpreter."""
    folder = DATA / f"{name}_eq" if (DATA / f"{name}_eq").is_dir() else DATA / name
    if not AEON_PYTHON.exists():
        raise SystemExit(f"no aeon interpreter at {AEON_PYTHON}; see bench/small_data.py")
    out = subprocess.run(
        [str(AEON_PYTHON), __file__, "--anchors", str(folder), name],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _aeon_anchors(folder: Path, name: str) -> dict:
    """(run inside aeon's interpreter) accuracy and wall time of MiniRocket and ROCKET."""
    from aeon.classification.convolution_based import MiniRocketClassifier, RocketClassifier
    from aeon.datasets import load_from_ts_file

    X_train, y_train = load_from_ts_file(str(folder / f"{name}_TRAIN.ts"))
    X_test, y_test = load_from_ts_file(str(folder / f"{name}_TEST.ts"))
    figures = {}
    for label, model in (
        ("MiniRocket", MiniRocketClassifier(random_state=0)),
        ("ROCKET", RocketClassifier(random_state=0)),
    ):
        started = time.monotonic()
        model.fit(X_train, y_train)
        figures[label] = float(np.mean(model.predict(X_test) == y_test))
        figures[f"{label}_s"] = time.monotonic() - started
    return figures


def best_trial_alone(study_dir: Path, X, y) -> float | None:
    """Test accuracy of the top-ranked trial's kept networks alone (no ensemble selection)."""
    import automl
    from automl.ensemble import Ensemble
    from automl.finish import kept_candidate
    from automl.predictor import Predictor
    from automl.study import load_records, read_config
    from automl.trial_record import ranked

    model = automl.load(study_dir / "best")
    config = read_config(study_dir)
    folds = config.get("selection", {}).get("folds", 1)
    best = [r for r in ranked(load_records(study_dir)) if r.scored][0]
    candidate = kept_candidate(study_dir, best, model.task, folds, config["data"]["n_val"])
    if candidate is None:
        return None
    network = Ensemble(candidate.networks, model.task.is_classification)
    alone = Predictor(network, model.config, model.task, model.preprocessing)
    return float(np.mean(alone.predict(X) == np.asarray(y)))


def bench_series(name: str, run_cli, budget: str, automl: bool, anchors: bool, extra=()) -> list:
    from sequences import given_test_split, test_accuracy  # bench/sequences.py

    folder = write_ucr(name)
    rows = []
    common = {"dataset": f"{name} (.ts, archive split)", "metric": "test accuracy"}
    if automl:
        figures = run_cli(folder, budget, list(extra))
        study_dir = Path(figures.pop("study_dir"))
        bundle = json.loads((study_dir / "best" / "bundle.json").read_text())
        held_out = given_test_split(folder)
        score, in_fit = test_accuracy(study_dir, held_out)
        rows.append(
            {
                **common,
                "budget": budget,
                "system": AUTOML + (" " + " ".join(extra) if extra else ""),
                "test_score": score,
                "test_scored_in_fit": in_fit,
                "best_trial_alone": best_trial_alone(study_dir, held_out.X, held_out.y),
                "selection": bundle.get("selection", {}).get("scheme"),
                "members": [
                    [
                        m["trial"],
                        m["family"],
                        m.get("weight"),
                        m["params"].get(f"{m['family']}.kernels"),
                        m["params"].get(f"{m['family']}.layout"),
                        m["params"].get(f"{m['family']}.head"),
                    ]
                    for m in bundle["members"]
                ],
                **figures,
            }
        )
    if anchors:
        found = series_anchors(name)
        for label in ("MiniRocket", "ROCKET"):
            rows.append(
                {
                    **common,
                    "budget": "-",
                    "system": f"aeon {label}",
                    "test_score": found[label],
                    "wall_s": found[f"{label}_s"],
                }
            )
        published = inception_time_mean(name)
        if published is not None:
            rows.append(
                {
                    **common,
                    "budget": "-",
                    "system": "InceptionTime (published, 30 resamples)",
                    "test_score": published,
                }  # fmt: skip
            )
    return rows


def _table(name: str):
    from sklearn.datasets import load_breast_cancer, load_iris

    return (load_iris if name == "iris" else load_breast_cancer)(return_X_y=True)


def table_anchors():
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "LDA": lambda: LinearDiscriminantAnalysis(),
        "LogisticRegression (C by 5-fold CV)": lambda: make_pipeline(
            StandardScaler(), LogisticRegressionCV(Cs=20, cv=5, max_iter=5000)
        ),
        "HistGradientBoosting": lambda: HistGradientBoostingClassifier(random_state=0),
    }


def bench_table(name: str, budget: str, automl: bool, anchors: bool, selection="auto") -> list:
    from sklearn.model_selection import StratifiedKFold

    X, y = _table(name)
    folds = list(StratifiedKFold(TABLE_FOLDS, shuffle=True, random_state=0).split(X, y))
    common = {
        "dataset": f"{name} ({TABLE_FOLDS}-fold stratified CV, mean)",
        "metric": "accuracy",
    }
    rows = []
    if automl:
        from automl import AutoDeep

        scores, alone, walls = [], [], []
        for fold, (tr, te) in enumerate(folds):
            started = time.monotonic()
            est = AutoDeep(
                budget=budget,
                random_state=0,
                studies_dir=STUDIES,
                verbose=False,
                selection=selection,
            ).fit(X[tr], y[tr])
            walls.append(time.monotonic() - started)
            scores.append(est.score(X[te], y[te]))
            alone.append(best_trial_alone(Path(est.study_dir_), X[te], y[te]))
            print(f"{name} fold {fold}: {scores[-1]:.4f} in {walls[-1]:.0f}s", file=sys.stderr)
        rows.append(
            {
                **common,
                "budget": f"{budget} per fold",
                "system": AUTOML + ("" if selection == "auto" else f" --selection {selection}"),
                "test_score": float(np.mean(scores)),
                "best_trial_alone": float(np.mean([a for a in alone if a is not None])),
                "wall_s": float(np.mean(walls)),
                "wall_s_max": float(np.max(walls)),
                "fold_scores": scores,
            }
        )
    if anchors:
        for label, make in table_anchors().items():
            started = time.monotonic()
            found = [make().fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in folds]
            rows.append(
                {
                    **common,
                    "budget": "-",
                    "system": label,
                    "test_score": float(np.mean(found)),
                    "wall_s": (time.monotonic() - started) / len(folds),
                }
            )
    return rows


def bench(keys: list[str], budget: str | None, run_cli, automl: bool, anchors: bool) -> list:
    rows = []
    for key in keys:
        if key in SERIES:
            rows += bench_series(SERIES[key], run_cli, budget or SERIES_BUDGET, automl, anchors)
        else:
            rows += bench_table(TABLES[key], budget or FOLD_BUDGET, automl, anchors)
    return rows


def ablation(budget: str | None, run_cli) -> list:
    """GunPoint and breast_cancer scored on one validation split instead of k folds."""
    rows = bench_series(
        "GunPoint", run_cli, budget or SERIES_BUDGET, True, False, ["--selection", "holdout"]
    )
    return rows + bench_table("breast_cancer", FOLD_BUDGET, True, False, "holdout")


if __name__ == "__main__" and sys.argv[1:2] == ["--anchors"]:
    print(json.dumps(_aeon_anchors(Path(sys.argv[2]), sys.argv[3])))
