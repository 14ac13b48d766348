"""Benchmark runner: automl against a plain Optuna loop (no Ray) on the same data, same run.

    python bench/run.py digits --budget 3m            # image folder, test on the held-out 25 %
    python bench/run.py breast_cancer --budget 2m     # 5-fold stratified CV of AutoDeep
    python bench/run.py efficiency --budget 3m        # 2 s trials: share of worker time training
                                                      # (bench/efficiency.py), vs Tune's defaults
    python bench/run.py budget_table --budget 1m      # wall time against a hard budget, from
    python bench/run.py budget_image --budget 1m      # outside the process (also 3m and 10m)
    python bench/run.py gpu_sharing --budget 2m       # CUDA only: 1, 2, 4 trials per GPU
    python bench/run.py gunpoint --budget 5m          # and the other sequence benchmarks of
                                                      # bench/sequences.py
    python bench/run.py autoencoder_k8 --budget 5m    # and the other benchmarks of unlabelled
                                                      # data and DBNs in bench/unsupervised.py
    python bench/run.py dashboard_scale               # a 5 000-trial study's page in Chromium
                                                      # (bench/dashboard.py)
    python bench/run.py model_view                    # the model view of 5 000 validation rows
    python bench/run.py export_latency                # ONNX / pt2 graphs against the PyTorch
                                                      # network: predict latency (bench/export.py)
    python bench/run.py executors                     # in-process against Ray executor, 1-8
                                                      # trials (bench/executors.py)
    python bench/run.py table_reading                 # CSV/xlsx reading with detection against
                                                      # pandas told the answers (bench/tables.py)
    python bench/run.py forecasting                   # last H values held out: automl against
                                                      # naive, ETS, Theta and SARIMA anchors on
                                                      # ShampooSales, co2, sunspots, Lynx, M1
    python bench/run.py forecasting --anchors-only    # the anchors alone (bench/forecasting.py)
    python bench/run.py forecast_m1 --budget 5m       # one dataset; also forecast_shampoo,
                                                      # _co2, _sunspots, _lynx
    python bench/run.py small_data                    # small series sets against MiniRocket and
                                                      # ROCKET, small tables against LDA, LogReg
                                                      # and HGB (bench/small_data.py)
    python bench/run.py photo_fit --budget 5m         # crop or pad searched, against each fixed
    python bench/run.py photos --budget 10m           # 256 px JPEG photos against the same
                                                      # images at 28x28; big_table: 1M rows
                                                      # against LogReg (bench/real_size.py)
    python bench/run.py sst --trees DIR --budget 30m  # the Sentiment Treebank against TF-IDF +
                                                      # LogReg and NB-SVM; also negation,
                                                      # rntn_throughput (bench/text.py)

Each run appends one JSON line per system to bench/results.jsonl and rewrites
bench/results.md. Figures: test score, wall time against budget, trials finished, and search
efficiency = (seconds spent in training/evaluation loops, summed over trials) /
(search wall time x concurrent trials).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS_JSONL = ROOT / "bench" / "results.jsonl"
RESULTS_MD = ROOT / "bench" / "results.md"
RUNS_DIR = ROOT / "bench" / "runs"
DIGITS = ROOT / "examples" / "digits"


def _study_figures(study_dir: Path) -> dict:
    from automl.study import load_trials, read_config
    from automl.trial_record import Attr

    config = read_config(study_dir)
    trials = load_trials(study_dir)
    train_s = sum(t.user_attrs.get(Attr.TRAIN_TIME_S, 0.0) for t in trials)
    search = config["search"]
    return {
        "trials": len(trials),
        "trials_complete": sum(t.state.name == "COMPLETE" for t in trials),
        "trials_failed": sum(t.state.name == "FAIL" for t in trials),
        "efficiency": train_s / (search["seconds"] * search["concurrency"]),
        "mean_trial_train_s": train_s / max(1, len(trials)),
        "search_s": search["seconds"],
    }


def run_automl_cli(data: Path, budget: str, extra: list[str], output: bool = False) -> dict:
    """`automl fit` as a user runs it, timed from outside the process (`output`: with what
    it printed)."""
    studies = RUNS_DIR / "studies"
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "automl",
            "fit",
            str(data),
            "--budget",
            budget,
            "--quiet",
            "--studies-dir",
            str(studies),
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wall = time.monotonic() - started
    from automl.budget import parse_budget

    if result.returncode != 0:
        raise SystemExit(f"automl fit failed:\n{result.stderr[-2000:]}")
    study_dir = Path(result.stdout.split("model: ")[1].split()[0]).parent
    return {
        "wall_s": wall,
        "over_budget_s": wall - parse_budget(budget),
        "study_dir": str(study_dir),
        **_study_figures(study_dir),
        **({"output": result.stdout} if output else {}),
    }


def optuna_baseline(dataset, budget_s: float, seed: int = 0, max_epochs: int = 30) -> dict:
    """The overhead baseline: the same detection, preprocessing, families, trainer and
    finishing ensemble, in a plain sequential Optuna loop (TPE + successive halving), no Ray."""
    import optuna
    import torch

    from automl.budget import Deadline
    from automl.engine import SearchSettings
    from automl.errors import TrialFailed
    from automl.finish import scored_trials, train_ensemble
    from automl.kept_networks import keep_best
    from automl.predictor import Predictor
    from automl.prepare import prepare_data
    from automl.search_spaces import get_family
    from automl.study_run import finish_reserve
    from automl.task import detect_task
    from automl.trainer import TrainingConfig, train_networks
    from automl.trial_record import Attr, TrialRecord

    deadline = Deadline(budget_s)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    prepared = prepare_data(dataset, detect_task(dataset), seed)
    task, data = prepared.task, prepared.data
    settings = SearchSettings(max_epochs=max_epochs, seed=seed)
    splits = data.splits(task)  # one split, or the folds of small data
    kept = Path(tempfile.mkdtemp(prefix="baseline-"))  # the trials' kept networks
    torch.set_num_threads(1)  # one trial on one core, like one Ray worker

    def objective(trial: optuna.Trial) -> float:
        family = get_family(trial.suggest_categorical("family", list(task.families)))
        params = {"family": family.name, **family.suggest(trial, task)}
        torch.manual_seed(seed + trial.number)
        models = [family.build(params, task) for _ in splits]
        started, trained = time.perf_counter(), 0.0

        def report(stats) -> None:
            nonlocal trained
            trained += stats.seconds
            trial.set_user_attr(Attr.TRAIN_TIME_S, trained)
            trial.report(stats.best_score, stats.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()

        result = train_networks(
            models,
            task,
            splits,
            TrainingConfig.from_params(params, max_epochs, settings.patience),
            on_epoch=report,
            seed=seed + trial.number,
            deadline=search_deadline,
            on_best=lambda best: keep_best(kept, trial.number, best),
        )
        trial.set_user_attr("wall_s", time.perf_counter() - started)
        return result.best_score

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True),
        pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=3, reduction_factor=3),
    )
    reserve = finish_reserve(budget_s, prepared.selection.scheme == "cv")
    search_deadline = deadline.sub(reserve)
    for name in task.families:
        study.enqueue_trial({"family": name, **get_family(name).defaults(task)})
    search_started = time.monotonic()
    study.optimize(
        objective,
        timeout=max(1.0, deadline.remaining() - reserve),
        catch=(TrialFailed,),
    )
    search_s = time.monotonic() - search_started
    trials = study.get_trials(deepcopy=False)
    ranked = scored_trials([TrialRecord.from_trial(t) for t in trials])
    ensemble, members, _, _ = train_ensemble(kept, ranked, task, data, settings, deadline)
    records = [m.as_dict() for m in members]
    train_s = sum(t.user_attrs.get(Attr.TRAIN_TIME_S, 0.0) for t in trials)
    return {
        "predictor": Predictor(ensemble, {"members": records}, task, prepared.preprocessing),
        "wall_s": deadline.elapsed(),
        "trials": len(trials),
        "trials_complete": sum(t.state.name == "COMPLETE" for t in trials),
        "trials_failed": sum(t.state.name == "FAIL" for t in trials),
        "efficiency": train_s / search_s,
        "mean_trial_train_s": train_s / max(1, len(trials)),
        "search_s": search_s,
    }


def _accuracy_of(predictor, X, labels) -> float:
    return float(np.mean(predictor.predict(X) == labels))


def bench_digits(budget: str, baseline: bool) -> list[dict]:
    import automl
    from automl.budget import parse_budget
    from automl.data import load_path

    test = load_path(DIGITS / "test")
    ours = run_automl_cli(DIGITS / "train", budget, [])
    model = automl.load(Path(ours.pop("study_dir")) / "best")
    ours["test_score"] = float(np.mean(model.predict(test.X) == test.y))
    rows = [{"system": "automl (Ray Tune + Optuna)", **ours}]
    if baseline:
        base = optuna_baseline(load_path(DIGITS / "train"), parse_budget(budget))
        base["test_score"] = _accuracy_of(base.pop("predictor"), test.X, test.y)
        rows.append({"system": "plain Optuna loop, no Ray", **base})
    return [
        {
            "dataset": "digits (PNG folder, 75/25 seed 0)",
            "metric": "test accuracy",
            "budget": budget,
            **row,
        }
        for row in rows
    ]


def bench_breast_cancer(budget: str, baseline: bool) -> list[dict]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold

    from automl import AutoDeep
    from automl.budget import parse_budget
    from automl.data import from_memory

    X, y = load_breast_cancer(return_X_y=True)
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(X, y)
    rows = []
    for fold, (tr, te) in enumerate(folds):
        started = time.monotonic()
        est = AutoDeep(
            budget=budget, random_state=0, studies_dir=RUNS_DIR / "studies", verbose=False
        )
        est.fit(X[tr], y[tr])
        row = {
            "fold": fold,
            "wall_s": time.monotonic() - started,
            "test_score": est.score(X[te], y[te]),
        }
        row.update(_study_figures(est.study_dir_))
        if baseline:
            base = optuna_baseline(from_memory(X[tr], y[tr]), parse_budget(budget))
            row["baseline_test_score"] = _accuracy_of(base["predictor"], X[te], y[te])
        rows.append(row)
        print(f"fold {fold}: {row['test_score']:.4f} in {row['wall_s']:.0f}s", file=sys.stderr)
    summary = {key: float(np.mean([r[key] for r in rows])) for key in rows[0] if key != "fold"}
    summary["wall_s_max"] = max(r["wall_s"] for r in rows)
    out = [
        {
            "dataset": "breast_cancer (5-fold stratified CV, mean)",
            "metric": "accuracy",
            "budget": f"{budget} per fold",
            "system": "automl (Ray Tune + Optuna)",
            **{k: v for k, v in summary.items() if not k.startswith("baseline")},
        }
    ]
    if baseline:
        out.append(
            {
                "dataset": out[0]["dataset"],
                "metric": "accuracy",
                "budget": out[0]["budget"],
                "system": "plain Optuna loop, no Ray",
                "test_score": summary["baseline_test_score"],
            }
        )
    return out


def _digits_table() -> Path:
    """The noisy digits table of bench/datasets.py as a CSV, as a user would have it."""
    import pandas as pd
    from datasets import noisy_digits_table  # bench/datasets.py, beside this script

    X, y = noisy_digits_table()
    table = RUNS_DIR / "digits_table.csv"
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(X, columns=[f"p{i}" for i in range(64)])
    frame["label"] = y
    frame.to_csv(table, index=False)
    return table


def bench_budget_table(budget: str, baseline: bool) -> list[dict]:
    """Is the budget hard? `automl fit` on the digits table, wall time from outside."""
    import automl

    ours = run_automl_cli(_digits_table(), budget, [])
    ours["test_score"] = automl.load(Path(ours.pop("study_dir")) / "best").config[
        "validation_score"
    ]
    return [
        {
            "dataset": "budget check: digits table (14 376 x 64)",
            "metric": "validation accuracy",
            "budget": budget,
            "system": "automl fit",
            **ours,
        }
    ]


def bench_budget_image(budget: str, baseline: bool) -> list[dict]:
    """Is the budget hard? `automl fit` on 10 000 Fashion-MNIST PNGs (loading included),
    scored on the first 10 000 test images."""
    from datasets import fashion_mnist  # bench/datasets.py, beside this script

    import automl
    from automl.data import load_path

    root = RUNS_DIR / "fashion_mnist"
    if not (root / "train").is_dir():
        root = fashion_mnist(RUNS_DIR, limit=10_000)
    ours = run_automl_cli(root / "train", budget, [])
    model = automl.load(Path(ours.pop("study_dir")) / "best")
    test = load_path(root / "test")
    ours["test_score"] = float(np.mean(model.predict(test.X) == test.y))
    return [
        {
            "dataset": "budget check: Fashion-MNIST, first 10 000 (PNG folder)",
            "metric": "test accuracy",
            "budget": budget,
            "system": "automl fit",
            **ours,
        }
    ]


def _sequence_benches() -> dict:
    import sequences  # bench/sequences.py, beside this script

    def ucr(name):
        return lambda budget, baseline: sequences.bench_ucr(name, run_automl_cli, budget)

    return {
        "gunpoint": ucr("GunPoint"),
        "basicmotions": ucr("BasicMotions"),
        "japanesevowels": ucr("JapaneseVowels"),
        "lynx": lambda budget, baseline: sequences.bench_lynx(run_automl_cli, budget),
        "spoken_words": lambda b, baseline: sequences.bench_spoken_words(run_automl_cli, b),
        "reuters": lambda budget, baseline: sequences.bench_reuters(run_automl_cli, budget),
    }


TREES: str | None = None  # --trees: the Sentiment Treebank's folder (bench/text.py)


def _text_benches() -> dict:
    import text  # bench/text.py, beside this script

    def sst(*labels):
        return lambda budget, baseline: text.bench_sst(list(labels), TREES, budget, run_automl_cli)

    return {
        "sst": sst("fine", "binary"),
        "sst_fine": sst("fine"),
        "sst_binary": sst("binary"),
        "sst_sentences": lambda budget, baseline: text.bench_sst_sentences(
            TREES, budget, run_automl_cli
        ),
        "negation": lambda budget, baseline: text.bench_negation(budget, run_automl_cli),
        "rntn_throughput": lambda budget, baseline: text.bench_rntn_throughput(TREES),
    }


def _unsupervised_benches() -> dict:
    import unsupervised  # bench/unsupervised.py, beside this script

    def bench(function, *args):
        return lambda budget, baseline: function(*args, RUNS_DIR, _study_figures, budget)

    return {
        "autoencoder_k8": bench(unsupervised.bench_autoencoder, 8),
        "autoencoder_k16": bench(unsupervised.bench_autoencoder, 16),
        "dbn": bench(unsupervised.bench_dbn),
        "rbm_features": bench(unsupervised.bench_rbm_features),
        "anomaly": bench(unsupervised.bench_anomaly),
    }


def _efficiency():
    import efficiency  # bench/efficiency.py, beside this script

    return efficiency


def _dashboard_scale(budget: str, baseline: bool) -> list[dict]:
    import dashboard  # bench/dashboard.py, beside this script

    return dashboard.bench_dashboard_scale(RUNS_DIR)


def _model_view(budget: str, baseline: bool) -> list[dict]:
    import dashboard  # bench/dashboard.py, beside this script

    return dashboard.bench_model_view(RUNS_DIR)


def _export_latency(budget: str, baseline: bool) -> list[dict]:
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    import export  # bench/export.py, beside this script

    return export.bench_export_latency(RUNS_DIR)


def _gpu_benches() -> dict:
    import gpu  # bench/gpu.py, beside this script

    return {
        "gpu_sharing": lambda budget, baseline: gpu.bench_gpu_sharing(
            run_automl_cli, RUNS_DIR, budget
        )
    }


def _forecast_benches() -> dict:
    import forecasting  # bench/forecasting.py, beside this script

    def bench(*keys):
        return lambda budget, baseline, automl: forecasting.bench(
            list(keys), budget, run_automl_cli, baseline, automl
        )

    return {
        **{f"forecast_{key}": bench(key) for key in forecasting.LOADERS},
        "forecasting": bench(*forecasting.LOADERS),
    }


def _tables():
    import tables  # bench/tables.py, beside this script

    return tables


def _real_size():
    import real_size  # bench/real_size.py, beside this script

    return real_size


def _executors():
    import executors  # bench/executors.py, beside this script

    return executors


BENCHES = {
    "digits": bench_digits,
    "breast_cancer": bench_breast_cancer,
    "efficiency": lambda budget, baseline: _efficiency().bench_efficiency(
        RUNS_DIR, _study_figures, budget, baseline
    ),
    "budget_table": bench_budget_table,
    "budget_image": bench_budget_image,
    **_sequence_benches(),
    **_text_benches(),
    **_unsupervised_benches(),
    **_gpu_benches(),
    "dashboard_scale": _dashboard_scale,
    "model_view": _model_view,
    "export_latency": _export_latency,
    "executors": lambda budget, baseline: _executors().bench_executors(RUNS_DIR, budget, baseline),
    "table_reading": lambda budget, baseline: _tables().bench_table_reading(
        RUNS_DIR, budget, baseline
    ),
    "photos": lambda budget, baseline: _real_size().bench_photos(
        RUNS_DIR, run_automl_cli, budget, baseline
    ),
    "big_table": lambda budget, baseline: _real_size().bench_big_table(
        RUNS_DIR, run_automl_cli, budget, baseline
    ),
    "fashion_full": lambda budget, baseline: _real_size().bench_fashion_full(
        RUNS_DIR, run_automl_cli, budget, baseline
    ),
    "photo_fit": lambda budget, baseline: _real_size().bench_photo_fit(
        RUNS_DIR, run_automl_cli, budget, baseline
    ),
    "photo_fit_seed1": lambda budget, baseline: _real_size().bench_photo_fit(
        RUNS_DIR, run_automl_cli, budget, baseline, seed=1, fits=("search", "pad")
    ),
}


def _small_data_benches() -> dict:
    import small_data  # bench/small_data.py, beside this script

    def bench(*keys):
        return lambda budget, baseline, automl: small_data.bench(
            list(keys), budget, run_automl_cli, automl, baseline
        )

    return {
        **{key: bench(key) for key in (*small_data.SERIES, *small_data.TABLES)},
        "small_data": bench(*small_data.SERIES, *small_data.TABLES),
        "small_ablation": lambda budget, baseline, automl: small_data.ablation(
            budget, run_automl_cli
        ),
    }


# (budget or None for their defaults, baseline, automl): benchmarks with anchors
FORECASTS = {**_forecast_benches(), **_small_data_benches()}


def write_markdown() -> None:
    import forecasting  # bench/forecasting.py, beside this script

    rows = [json.loads(line) for line in RESULTS_JSONL.read_text().splitlines() if line.strip()]
    forecasts = [r for r in rows if r.get("metric") == forecasting.METRIC]
    rows = [r for r in rows if r.get("metric") != forecasting.METRIC]
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/run.py` (see its docstring for the commands). Machine: 2-core CPU, "
        "no GPU. Efficiency = training seconds summed over trials / (search wall x concurrent "
        "trials). Wall is measured outside the process; (+x) is its excess over the budget, "
        "where recorded. Each automl row and the baseline row under it ran in the same "
        "invocation.",
        "",
        "| date | dataset | budget | system | score | metric | wall (s) | trials (complete/failed) | efficiency | mean trial (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        trials = (
            f"{r['trials']:.0f} ({r['trials_complete']:.0f}/{r['trials_failed']:.0f})"
            if "trials" in r
            else "-"
        )
        score = f"{r['test_score']:.4f}" if r.get("test_score") is not None else "-"
        if r.get("best_trial_alone") is not None:  # bench/small_data.py
            score += f" (best trial alone {r['best_trial_alone']:.4f})"
        if r.get("all_phrases") is not None:  # bench/text.py
            score += f" (all phrases {r['all_phrases']:.4f})"
        if r.get("binary_from_fine") is not None:
            score += f" (binary, from these 5 classes: {r['binary_from_fine']:.4f})"
        if "render_s" in r:  # the dashboard's timings (bench/dashboard.py)
            score = f"{r['render_s']:.2f} s"
            if "baseline_s" in r:
                score += f" vs {r['baseline_s']:.2f} s"
        if "read_s" in r:  # table files (bench/tables.py)
            score = f"{r['read_s']:.2f} s vs {r['baseline_s']:.2f} s ({r['ratio']:.2f}x)"
        if "latency_ms" in r:  # exported graphs (bench/export.py)
            score = f"{r['latency_ms']:.3f} ms vs torch {r['baseline_ms']:.3f} ms"
            if "export_s" in r:
                score += f", export {r['export_s']:.1f} s"
        eff = f"{100 * r['efficiency']:.0f} %" if "efficiency" in r else "-"
        wall = f"{r['wall_s']:.1f}" if "wall_s" in r else "-"
        if "over_budget_s" in r:
            wall += f" ({r['over_budget_s']:+.1f})"
        if "wall_s_max" in r:
            wall += f" (max {r['wall_s_max']:.1f})"
        mean = f"{r['mean_trial_train_s']:.2f}" if "mean_trial_train_s" in r else "-"
        system = r["system"]
        if "gpu_utilisation_mean" in r:
            system += (
                f": GPU busy {r['gpu_utilisation_mean']:.0f} %, {r['trials_per_hour']:.0f} trials/h"
            )
        lines.append(
            f"| {r['date']} | {r['dataset']} | {r['budget']} | {system} | {score} | "
            f"{r['metric']} | {wall} | {trials} | {eff} | {mean} |"
        )
    if forecasts:
        lines += ["", *forecasting.markdown(forecasts)]
    RESULTS_MD.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bench", choices=sorted({*BENCHES, *FORECASTS}))
    parser.add_argument(
        "--budget", help="default 3m; forecasting: 2m a single series, 5m M1 (see its docstring)"
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--trees", help="sst*, rntn_throughput: the Sentiment Treebank's folder")
    parser.add_argument(
        "--anchors-only",
        action="store_true",
        help="forecasting and small_*: the anchors alone, no automl",
    )
    args = parser.parse_args()
    global TREES
    TREES = args.trees
    if args.bench in FORECASTS:
        if args.anchors_only and args.no_baseline:
            parser.error("--anchors-only and --no-baseline leave nothing to run")
        rows = FORECASTS[args.bench](args.budget, not args.no_baseline, not args.anchors_only)
    elif args.anchors_only:
        parser.error("--anchors-only applies to the forecasting and small-data benchmarks")
    else:
        rows = BENCHES[args.bench](args.budget or "3m", not args.no_baseline)
    stamp = time.strftime("%Y-%m-%d")
    commit = _commit()
    with RESULTS_JSONL.open("a") as out:
        for row in rows:
            row = {"date": stamp, "python": platform.python_version(), "commit": commit, **row}
            out.write(json.dumps(row, default=float) + "\n")
            print(json.dumps(row, default=float))
    write_markdown()


def _commit() -> str | None:
    """The measured code's commit (short), "+" when the tree had changes; None outside git."""
    try:
        run = partial(subprocess.run, capture_output=True, text=True, cwd=ROOT, check=True)
        head = run(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
        changed = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+" if changed else "")


if __name__ == "__main__":
    main()
