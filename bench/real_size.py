"""Real-sized data: photos at their resolution and a million-row table, against anchors run in
the same invocation.

    python bench/run.py photos --budget 10m      # Fashion-MNIST's 10 000 test images as
                                                 # 256x256 RGB JPEGs against the same images
                                                 # at 28x28 grey, same budget; decode speed
    python bench/run.py big_table --budget 10m   # 1 000 000 rows x 50 columns against a
                                                 # logistic regression; peak memory
    python bench/run.py fashion_full --budget 30m  # all 60 000 Fashion-MNIST training PNGs,
                                                 # the official 10 000 test images
    python bench/run.py photo_fit --budget 5m    # crop or pad searched against each fixed,
                                                 # on photos that are not square
    python bench/run.py photo_fit_seed1 --budget 5m  # searched and pad again at seed 1

Photos: the first 8 000 images train, the last 2 000 are the given test split; both folders
hold the same images (bench/datasets.py fashion_photos). Decoding is timed on the JPEG
folder without the cache (images per second, all cores), against one core decoding full
size without PIL's draft. The table: 40 numeric and 10 categorical columns, a label from
an interaction of them that a linear model can only partly follow; 100 000 more rows are
the test set. Peak memory is what `automl fit` reports (config.json's search figures).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

TABLE_ROWS = 1_000_000
TABLE_TEST_ROWS = 100_000
NUMERIC, CATEGORICAL, LEVELS = 40, 10, 8


def _test_score(fit_output: str) -> float:
    """The accuracy `automl fit` printed for the given test split."""
    return float(fit_output.split("test: accuracy ")[1].split()[0])


def _peak_gb(study_dir: Path) -> dict:
    from automl.study import read_config

    peaks = read_config(study_dir)["search"]["peak_memory"]
    return {
        "peak_gb_process": peaks["this_process_mb"] / 1024,
        "peak_gb_trial": peaks.get("trial_worker_mb", 0.0) / 1024,
    }


def decode_speed(folder: Path) -> dict:
    """Images per second: automl's reader (threads, draft) against a plain serial loop."""
    from PIL import Image

    from automl.data.images import ImageReading, read_images
    from automl.data.loading import visible_files

    files = visible_files(folder)
    started = time.perf_counter()
    read_images(files, reading=ImageReading(max_side=128))
    ours = len(files) / (time.perf_counter() - started)
    sample = files[:1000]
    started = time.perf_counter()
    for path in sample:
        with Image.open(path) as img:
            np.asarray(img.convert("RGB").resize((128, 128), Image.Resampling.BILINEAR))
    plain = len(sample) / (time.perf_counter() - started)
    return {"decode_images_per_s": ours, "plain_decode_images_per_s": plain}


def bench_photos(runs_dir: Path, run_cli, budget: str, baseline: bool) -> list[dict]:
    from datasets import fashion_photos  # bench/datasets.py, beside this script

    photos = fashion_photos(runs_dir / "data", side=256)
    rows = []
    started = time.perf_counter()
    ours = run_cli(photos, budget, [], output=True)
    row = {"system": "automl, 256x256 RGB JPEGs", "test_score": _test_score(ours.pop("output"))}
    row.update(decode_speed(photos / "train"))
    rows.append(
        {**row, **ours, **_peak_gb(Path(ours["study_dir"])), **_plans(Path(ours["study_dir"]))}
    )
    if baseline:
        grey = fashion_photos(runs_dir / "data", side=28)
        theirs = run_cli(grey, budget, [], output=True)
        row = {"system": "automl, the same images 28x28 grey PNG"}
        row["test_score"] = _test_score(theirs.pop("output"))
        rows.append({**row, **theirs, **_peak_gb(Path(theirs["study_dir"]))})
        rows[0]["points_behind_28px"] = 100 * (rows[1]["test_score"] - rows[0]["test_score"])
    rows[0]["bench_wall_s"] = time.perf_counter() - started
    return [
        {
            "dataset": "Fashion-MNIST test images as photos (8000/2000)",
            "metric": "test accuracy",
            "budget": budget,
            **row,
        }
        for row in rows
    ]


def bench_photo_fit(
    runs_dir: Path, run_cli, budget: str, baseline: bool, seed: int = 0, fits=None
) -> list[dict]:
    """Crop or pad searched against each fixed by hand (`--image-fit`), same budget, on two
    folders of photos that are not square: one where a centre crop might help (the item
    centred, others beside it) and one where it hurts (the item anywhere along a wide
    frame). `seed` and `fits` rerun some of them, for the spread between runs."""
    from datasets import SCENES, fashion_scenes  # bench/datasets.py, beside this script

    rows = []
    for layout in SCENES:
        folder = runs_dir / "data" / f"fashion_scenes_{layout}"
        if not (folder / "test").is_dir():
            folder = fashion_scenes(runs_dir / "data", layout)
        for fit in fits or (("search", "crop", "pad") if baseline else ("search",)):
            extra = ["--image-fit", fit, *(["--seed", str(seed)] if seed else [])]
            run = run_cli(folder, budget, extra, output=True)
            score = _test_score(run.pop("output"))
            rows.append(
                {
                    "dataset": f"Fashion-MNIST scenes, {layout} (8000/2000)",
                    "metric": "test accuracy",
                    "budget": budget,
                    "system": f"automl, --image-fit {fit}" + (f", seed {seed}" if seed else ""),
                    "test_score": score,
                    **run,
                    **_fits(Path(run["study_dir"])),
                }
            )
    return rows


def _fits(study_dir: Path) -> dict:
    """How often each fit was tried (trials that recorded one) and what the export's members
    use."""
    from automl.study import load_records

    def fit_of(params: dict) -> str | None:
        return next((v for k, v in params.items() if k.endswith(".image_fit")), None)

    tried = [fit_of(r.params) for r in load_records(study_dir)]
    return {
        "trials_crop": tried.count("crop"),
        "trials_pad": tried.count("pad"),
        "members_fits": [fit_of(m["params"]) or "fixed" for m in _members(study_dir)],
    }


def _members(study_dir: Path) -> list[dict]:
    """The exported members as bundle.json lists them (cheaper than loading the model)."""
    return json.loads((study_dir / "best" / "bundle.json").read_text())["members"]


def bench_fashion_full(runs_dir: Path, run_cli, budget: str, baseline: bool) -> list[dict]:
    """Fashion-MNIST as published: 60 000 training PNGs, scored on the 10 000 test ones;
    the folder's load time (decoding included) is timed on its own first."""
    from datasets import fashion_mnist  # bench/datasets.py, beside this script

    import automl
    from automl.data import load_path

    root = runs_dir / "full" / "fashion_mnist"
    if not (root / "test").is_dir():
        root = fashion_mnist(runs_dir / "full")
    started = time.perf_counter()
    load_path(root / "train")
    load_s = time.perf_counter() - started
    ours = run_cli(root / "train", budget, [])
    study = Path(ours["study_dir"])
    model = automl.load(study / "best")
    test = load_path(root / "test")
    row = {"system": "automl fit", "test_score": float(np.mean(model.predict(test.X) == test.y))}
    return [
        {
            "dataset": "Fashion-MNIST 60 000 PNG training images, official test split",
            "metric": "test accuracy",
            "budget": budget,
            **row,
            "load_s": load_s,
            **ours,
            **_peak_gb(study),
            **_plans(study),
        }
    ]


def _plans(study_dir: Path) -> dict:
    """How the trials were planned: the share of a pass each epoch saw, and their epochs;
    and how many passes over the training rows each exported member made (epochs trained x
    share: at least 1 means the winner was trained on every row)."""
    from automl.study import load_records
    from automl.trial_record import Attr

    records = load_records(study_dir)
    plans = {r.number: r.get(Attr.PLAN) for r in records if r.get(Attr.PLAN)}
    members = _members(study_dir)
    return {
        "plan_fractions": sorted({p["fraction"] for p in plans.values()}),
        "plan_epochs": sorted({p["epochs"] for p in plans.values()}),
        "trials_pruned": sum(r.state == "PRUNED" for r in records),
        "member_passes": [
            round(m["epochs_trained"] * plans.get(m["trial"], {"fraction": 1.0})["fraction"], 2)
            for m in members
        ],
    }


def big_table(rows: int, seed: int = 0) -> pd.DataFrame:
    """Numeric and categorical columns; the label mixes products, a threshold and level
    effects, so a linear model only partly follows it."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, NUMERIC)).astype(np.float32)
    levels = rng.integers(0, LEVELS, size=(rows, CATEGORICAL))
    effects = np.random.default_rng(99).normal(size=(CATEGORICAL, LEVELS))
    signal = (
        numeric[:, 0] * numeric[:, 1]
        + np.abs(numeric[:, 2])
        - 0.8
        + np.sin(2 * numeric[:, 3])
        + 0.5 * numeric[:, 4]
        + effects[np.arange(CATEGORICAL), levels].sum(axis=1) * 0.5
        + rng.normal(scale=0.5, size=rows)
    )
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(NUMERIC)])
    for j in range(CATEGORICAL):
        frame[f"c{j}"] = pd.Categorical.from_codes(levels[:, j], [f"v{k}" for k in range(LEVELS)])
    frame["label"] = np.where(signal > 0, "yes", "no")
    return frame


def bench_big_table(runs_dir: Path, run_cli, budget: str, baseline: bool) -> list[dict]:
    import automl

    folder = runs_dir / "data"
    folder.mkdir(parents=True, exist_ok=True)
    train_file = folder / "big_table.parquet"
    if not train_file.exists():
        big_table(TABLE_ROWS).to_parquet(train_file)
    test = big_table(TABLE_TEST_ROWS, seed=1)
    X_test, y_test = test.drop(columns=["label"]), test["label"].to_numpy()
    ours = run_cli(train_file, budget, [])
    model = automl.load(Path(ours["study_dir"]) / "best")
    row = {"system": "automl", "test_score": float(np.mean(model.predict(X_test) == y_test))}
    rows = [{**row, **ours, **_peak_gb(Path(ours["study_dir"])), **_plans(Path(ours["study_dir"]))}]
    if baseline:
        from sklearn.compose import make_column_transformer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        train = pd.read_parquet(train_file)
        started = time.perf_counter()
        linear = make_pipeline(
            make_column_transformer(
                (StandardScaler(), [f"x{i}" for i in range(NUMERIC)]),
                (OneHotEncoder(), [f"c{j}" for j in range(CATEGORICAL)]),
            ),
            LogisticRegression(max_iter=300),
        ).fit(train.drop(columns=["label"]), train["label"])
        score = float(np.mean(linear.predict(X_test) == y_test))
        rows.append(
            {
                "system": "LogisticRegression",
                "test_score": score,
                "fit_s": time.perf_counter() - started,
            }
        )
        rows[0]["points_over_logreg"] = 100 * (rows[0]["test_score"] - score)
    return [
        {
            "dataset": "synthetic table 1 000 000 x 50 (40 numeric, 10 categorical)",
            "metric": "test accuracy (100 000 new rows)",
            "budget": budget,
            **row,
        }
        for row in rows
    ]
