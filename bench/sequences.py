"""Benchmarks of the sequence families (recurrent nets, 1-D CNNs, text CNNs), each on a real
dataset written in its natural format by bench/datasets.py and fitted by `automl fit` as a user
runs it. Registered in bench/run.py:

    python bench/run.py gunpoint --budget 5m        # UCR archive split; FCN 100 %, ResNet 99.1 %
    python bench/run.py basicmotions --budget 3m    # UEA archive split; InceptionTime 100 %
    python bench/run.py japanesevowels --budget 5m  # variable length 7-29; FCN 99.3 %
    python bench/run.py lynx --budget 3m            # log10, last 14 years one step ahead; AR(11)
    python bench/run.py spoken_words --budget 5m    # espeak-ng words, test on held-out voices
    python bench/run.py reuters --budget 2m         # acq vs crude, stratified 50/50; TF-IDF + LR

Sources: pip download --no-deps aeon==1.6.0 -d bench/runs/sources (UCR files, Lynx);
apt-get install espeak-ng; cd bench/runs/sources && apt-get download r-cran-tm (Reuters).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
SOURCES = BENCH / "runs" / "sources"
DATA = BENCH / "runs" / "data"
TRAIN_VOICES = ("en-gb", "en-us", "en-029", "en+f3")
TEST_VOICES = ("en-gb-scotland", "en-us+m3")  # never heard in training
LYNX_TEST_YEARS = 14


def _datasets():
    spec = importlib.util.spec_from_file_location("bench_datasets", BENCH / "datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bundle(study_dir: str) -> dict:
    return json.loads((Path(study_dir) / "best" / "bundle.json").read_text())


def _row(dataset: str, budget: str, figures: dict, **extra) -> dict:
    bundle = _bundle(figures.pop("study_dir"))
    return {
        "dataset": dataset,
        "metric": "test accuracy",
        "budget": budget,
        "system": "automl (Ray Tune + Optuna)",
        "test_score": bundle.get("test_score"),
        "families": sorted({m["family"] for m in bundle["members"]}),
        **figures,
        **extra,
    }


def given_test_split(folder: Path):
    """The rows of a folder's given test split (NAME_TEST.ts), as automl reads them."""
    from automl.data import load_path

    data = load_path(folder)
    return data.subset(np.flatnonzero(data.split == "test"))


def test_accuracy(study_dir: Path, held_out) -> tuple[float, bool]:
    """(the exported model's accuracy on the given test split, whether the fit scored it):
    a fit whose budget ended before it predicted the split is scored after, here."""
    import automl

    scored = _bundle(study_dir).get("test_score")
    if scored is not None:
        return scored, True
    model = automl.load(Path(study_dir) / "best")
    return float(np.mean(model.predict(held_out.X) == np.asarray(held_out.y))), False


def bench_ucr(name: str, run_cli, budget: str) -> list[dict]:
    """The archive's own train/test split, read from NAME_TRAIN.ts + NAME_TEST.ts; the fit
    scores the test split once, after the search (or the bench after the fit)."""
    _datasets().ucr(DATA, name, wheel_dir=SOURCES)
    figures = run_cli(DATA / name, budget, [])
    score, in_fit = test_accuracy(figures["study_dir"], given_test_split(DATA / name))
    return [
        _row(
            f"{name} (.ts, archive split)",
            budget,
            figures,
            test_score=score,
            test_scored_in_fit=in_fit,
        )  # fmt: skip
    ]


def bench_spoken_words(run_cli, budget: str) -> list[dict]:
    """12 words x 6 voices x 3 speeds; train on 4 voices, test on the other 2."""
    root = _datasets().spoken_words(DATA / "spoken_raw")
    split = DATA / "spoken_words"
    shutil.rmtree(split, ignore_errors=True)
    for wav in root.rglob("*.wav"):
        voice = wav.stem.rsplit("_", 2)[0]
        part = "test" if voice in TEST_VOICES else "train"
        target = split / part / wav.parent.name / wav.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(wav, target)
    figures = run_cli(split, budget, [])
    return [_row("spoken words (espeak-ng, held-out voices)", budget, figures)]


def bench_reuters(run_cli, budget: str) -> list[dict]:
    """acq vs crude, a stratified 50/50 split (seed 0) as train/ and test/ folders; the
    TF-IDF + logistic regression baseline runs on the same split in this process."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
    from sklearn.model_selection import train_test_split

    root = _datasets().reuters(DATA, deb_dir=SOURCES)
    files = sorted(root.rglob("*.txt"))
    labels = [p.parent.name for p in files]
    train, test = train_test_split(
        files, test_size=0.5, stratify=labels, random_state=0, shuffle=True
    )
    split = DATA / "reuters_split"
    shutil.rmtree(split, ignore_errors=True)
    for part, paths in (("train", train), ("test", test)):
        for p in paths:
            target = split / part / p.parent.name / p.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(p, target)
    texts = {p: p.read_text() for p in files}
    vectorizer = TfidfVectorizer(sublinear_tf=True)
    X_train = vectorizer.fit_transform([texts[p] for p in train])
    X_test = vectorizer.transform([texts[p] for p in test])
    y_train, y_test = [p.parent.name for p in train], [p.parent.name for p in test]
    baselines = {
        "TF-IDF + logistic regression (sklearn defaults)": LogisticRegression(max_iter=1000),
        "TF-IDF + logistic regression (C by 3-fold CV)": LogisticRegressionCV(
            Cs=10, cv=3, max_iter=1000, scoring="accuracy", l1_ratios=(0.0,)
        ),
    }
    ours = _row("Reuters acq vs crude (50/50 stratified)", budget, run_cli(split, budget, []))
    rows = [ours]
    for system, classifier in baselines.items():
        score = classifier.fit(X_train, y_train).score(X_test, y_test)
        rows.append(
            {
                "dataset": ours["dataset"],
                "metric": "test accuracy",
                "budget": "-",
                "system": system,
                "test_score": float(score),
            }
        )
    return rows


def ar_forecasts(values: np.ndarray, lags: int, n_fit: int) -> np.ndarray:
    """One-step forecasts of values[n_fit:] by an AR(lags) fitted by least squares on
    values[:n_fit] (the reference of shared/datasets.md: AR(11) on log10 Lynx)."""
    rows = np.stack([values[t - lags : t] for t in range(lags, n_fit)])
    design = np.column_stack([np.ones(len(rows)), rows])
    coef, *_ = np.linalg.lstsq(design, values[lags:n_fit], rcond=None)
    return np.asarray(
        [coef[0] + values[t - lags : t] @ coef[1:] for t in range(n_fit, len(values))]
    )


def bench_lynx(run_cli, budget: str) -> list[dict]:
    """log10 Lynx; fit on all but the last 14 years; forecast each of them one step ahead
    from the true history before it; MSE against AR(11) fitted on the same years."""
    import pandas as pd

    import automl

    source = _datasets().lynx(DATA / "lynx_raw", wheel_dir=SOURCES)
    frame = pd.read_csv(source)
    frame["lynx"] = np.log10(frame["lynx"])
    n_fit = len(frame) - LYNX_TEST_YEARS
    train_csv = DATA / "lynx_log10_train.csv"
    frame.iloc[:n_fit].to_csv(train_csv, index=False)
    figures = run_cli(train_csv, budget, ["--horizon", "1"])
    predictor = automl.load(Path(figures["study_dir"]) / "best")
    values = frame["lynx"].to_numpy()
    ours = np.asarray([predictor.predict(values[:t])[0] for t in range(n_fit, len(values))])
    truth = values[n_fit:]
    mse = float(np.mean((ours - truth) ** 2))
    ar = float(np.mean((ar_forecasts(values, 11, n_fit) - truth) ** 2))
    row = _row("Lynx log10, last 14 one-step", budget, figures)
    row.update({"metric": "MSE", "test_score": mse})
    base = {
        "dataset": row["dataset"],
        "metric": "MSE",
        "budget": "-",
        "system": "AR(11), least squares",
        "test_score": ar,
    }
    return [row, base]
