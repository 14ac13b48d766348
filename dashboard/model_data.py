"""The model view's data: a study's recorded predictions (automl.model_records) as frames.

Where the search views say which trial won, these say where the exported model is wrong:
confusion matrix, per-class report, ROC / precision-recall / calibration curves, the mistakes
themselves (paged here, not in the browser), regression errors, anomaly scores. Every function
takes the predictions frame, so each is usable from Python as it is in the dashboard:

    frame = predictions(load_study(path))
    confusion(frame)  # counts, true classes down, predicted across
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from automl.dashboard.data import StudyData
from automl.study import FORECAST_FILE, PREDICTIONS_FILE, PROBABILITY_PREFIX, seen_first

GALLERY_PAGE = 24  # samples per page of the gallery
CURVE_CLASSES = 10  # ROC / precision-recall curves of the classes with most samples
_CACHED: dict[tuple[str, int], pd.DataFrame] = {}  # the last predictions file read
CALIBRATION_BINS = 10
ERROR_BINS = 10
SPARK_SIZE = (120, 48)  # a series' preview picture, pixels


def predictions(data: StudyData, split: str = "val") -> pd.DataFrame | None:
    """The exported model's predictions on `split` ("val" or "test"); None when the study has
    none recorded (a forecast, a search still running, or a study made before they were)."""
    every = _recorded(data)
    if every is None:
        return None
    frame = every[every["split"] == split].reset_index(drop=True)
    return frame if len(frame) else None


def _recorded(data: StudyData) -> pd.DataFrame | None:
    """Every recorded row, read once per version of the file (a gallery click re-reads
    nothing)."""
    path = Path(data.directory) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    key = (str(path), path.stat().st_mtime_ns)
    if key not in _CACHED:
        _CACHED.clear()
        _CACHED[key] = pd.read_parquet(path)
    return _CACHED[key]


def forecast(data: StudyData) -> dict[str, pd.DataFrame] | None:
    """A forecaster's record (its first series) as frames: `history` (step, time, value),
    `backtests` (window, step, predicted, actual, and lower / upper: the outer quantiles, for
    studies that record intervals) and `next` (step, predicted, lower, upper); None when the
    study is not a forecast or has none recorded."""
    path = Path(data.directory) / FORECAST_FILE
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    n = len(record["values"])
    history = pd.DataFrame({"step": range(n), "time": record["times"], "value": record["values"]})
    rows = []
    for w, b in enumerate(record["backtests"]):
        for i, (p, a) in enumerate(zip(b["predicted"], b["actual"], strict=False)):
            row = {"window": w, "step": b["start"] + i, "predicted": p, "actual": a}
            if "lower" in b:
                row.update(lower=b["lower"][i], upper=b["upper"][i])
            rows.append(row)
    backtests = pd.DataFrame(
        rows,
        columns=["window", "step", "predicted", "actual"]
        + (["lower", "upper"] if rows and "lower" in rows[0] else []),
    )
    future = pd.DataFrame({"step": range(n, n + len(record["next"])), "predicted": record["next"]})
    if "next_lower" in record:
        future["lower"], future["upper"] = record["next_lower"], record["next_upper"]
    return {"history": history, "backtests": backtests, "next": future}


def backtest_errors(backtests: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error of the validation windows' forecasts by steps ahead (1..horizon)."""
    ahead = backtests["step"] - backtests.groupby("window")["step"].transform("min") + 1
    errors = (backtests["predicted"] - backtests["actual"]).abs()
    return errors.groupby(ahead).mean().rename_axis("ahead").reset_index(name="mae")


def splits(data: StudyData) -> list[str]:
    every = _recorded(data)
    return [] if every is None else list(every["split"].unique())


def classes(frame: pd.DataFrame) -> list[str]:
    return [c[len(PROBABILITY_PREFIX) :] for c in frame.columns if c.startswith(PROBABILITY_PREFIX)]


def confusion(frame: pd.DataFrame, normalise: bool = False) -> pd.DataFrame:
    """Counts (or, normalised, each true class's share) of true (rows) by predicted (columns)."""
    labels = classes(frame)
    table = pd.crosstab(frame["target"], frame["prediction"]).reindex(
        index=labels, columns=labels, fill_value=0
    )
    if normalise:
        table = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    return table


def class_report(frame: pd.DataFrame) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, as scikit-learn computes them."""
    from sklearn.metrics import precision_recall_fscore_support

    labels = classes(frame)
    precision, recall, f1, support = precision_recall_fscore_support(
        frame["target"], frame["prediction"], labels=labels, zero_division=0
    )
    return pd.DataFrame(
        {"class": labels, "precision": precision, "recall": recall, "f1": f1, "support": support}
    )


def roc_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """One-vs-rest ROC curve per class: class, fpr, tpr, auc (a binary task: the second class)."""
    return _curves(frame, "roc")


def pr_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """One-vs-rest precision-recall curve per class: class, recall, precision, ap."""
    return _curves(frame, "pr")


def _curves(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    labels = classes(frame)
    if len(labels) > 2:  # past CURVE_CLASSES, the classes with most samples
        support = frame["target"].value_counts()
        labels = sorted(labels, key=lambda c: -support.get(c, 0))[:CURVE_CLASSES]
    parts = []
    for label in labels[1:] if len(labels) == 2 else labels:
        truth = (frame["target"] == label).to_numpy()
        if truth.all() or not truth.any():
            continue  # a class absent from the split has no curve
        scores = frame[PROBABILITY_PREFIX + label].to_numpy()
        if kind == "roc":
            x, y, _ = roc_curve(truth, scores)
            area = auc(x, y)
            parts.append(pd.DataFrame({"class": label, "fpr": x, "tpr": y, "auc": area}))
        else:
            y, x, _ = precision_recall_curve(truth, scores)
            area = average_precision_score(truth, scores)
            parts.append(pd.DataFrame({"class": label, "recall": x, "precision": y, "ap": area}))
    columns = (
        ["class", "fpr", "tpr", "auc"] if kind == "roc" else ["class", "recall", "precision", "ap"]
    )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def calibration(frame: pd.DataFrame, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Of the predictions made with confidence in each band, the share that was right."""
    band = np.minimum((frame["confidence"] * bins).astype(int), bins - 1)
    grouped = frame.assign(band=band).groupby("band")
    return pd.DataFrame(
        {
            "confidence": grouped["confidence"].mean(),
            "accuracy": grouped["correct"].mean(),
            "count": grouped.size(),
        }
    ).reset_index(drop=True)


def gallery(
    frame: pd.DataFrame,
    target: str | None = None,
    prediction: str | None = None,
    page: int = 0,
    size: int = GALLERY_PAGE,
    reverse: bool = False,
) -> tuple[pd.DataFrame, int]:
    """One page of samples to look at, and how many there are in all.

    A classifier's: its mistakes, most confidently wrong first (with none, every sample, least
    confident first); with a confusion cell chosen (`target`, `prediction`), that cell's
    samples (right ones too, on the diagonal). A
    regressor's: the largest errors first. A model of unlabelled data's: the most anomalous.
    A page past the last gives the last. `reverse` turns the order round (least confident, smallest errors, most ordinary first).
    """
    if "confidence" in frame:
        chosen = frame
        if target is not None:
            chosen = chosen[chosen["target"] == target]
        if prediction is not None:
            chosen = chosen[chosen["prediction"] == prediction]
        wrong = ~chosen["correct"]
        if target is None and prediction is None and wrong.any():
            chosen = chosen[wrong]
        elif target is None and prediction is None:  # no mistake: the least sure first
            reverse = not reverse
        chosen = chosen.sort_values("confidence", ascending=False, kind="stable")
    elif "error" in frame:
        chosen = frame.reindex(frame["error"].abs().sort_values(ascending=False).index)
    else:
        chosen = frame.sort_values("score", ascending=False, kind="stable")
    if reverse:
        chosen = chosen.iloc[::-1]
    last = max(0, -(-len(chosen) // size) - 1) if size else 0
    start = min(max(0, page), last) * size  # a page past the last shows the last
    return chosen.iloc[start : start + size], len(chosen)


def regression_errors(frame: pd.DataFrame, bins: int = ERROR_BINS) -> pd.DataFrame:
    """Mean absolute error by band of the true value (equal-count bands)."""
    band = pd.qcut(frame["target"], q=min(bins, frame["target"].nunique()), duplicates="drop")
    grouped = frame.assign(band=band, absolute=frame["error"].abs()).groupby("band", observed=True)
    return pd.DataFrame(
        {
            "target": grouped["target"].mean(),
            "mae": grouped["absolute"].mean(),
            "count": grouped.size(),
        }
    ).reset_index(drop=True)


def summary(frame: pd.DataFrame) -> dict[str, float]:
    """The headline numbers of a split: accuracy, or MAE and RMSE, or the mean anomaly score;
    `of` is the split's size when the recorded rows are a sample of it."""
    numbers: dict[str, float] = {"samples": len(frame)}
    if "rows_in_split" in frame and int(frame["rows_in_split"].iloc[0]) > len(frame):
        numbers["of"] = int(frame["rows_in_split"].iloc[0])
    if "confidence" in frame:
        return {**numbers, "accuracy": float(frame["correct"].mean())}
    if "error" in frame:
        errors = frame["error"].to_numpy(dtype=float)
        return {
            **numbers,
            "mae": float(np.abs(errors).mean()),
            "rmse": float(np.sqrt((errors**2).mean())),
        }
    return {**numbers, "mean_score": float(frame["score"].mean())}


def preview_image(
    preview: str | None, kind: str, bounds: tuple[float, float] | None = None
) -> str | None:
    """A gallery picture for a sample's preview of `kind` (its preview_kind): images and
    spectrograms as they are, a series' values drawn as a line (a PNG, so the page holds no
    figure per sample) within `bounds`; None for texts and table rows."""
    if not preview or kind not in ("image", "series"):
        return None
    if kind == "image":
        return preview if preview.startswith("data:image/png;base64,") else None
    return _sparkline(json.loads(preview), bounds)


def series_bounds(*previews: str | None) -> tuple[float, float] | None:
    """The range of values over several series previews: a sample and its reconstruction are
    drawn on one scale, so a flat reconstruction looks flat."""
    values = [v for p in previews if p for f in json.loads(p) for v in f if v is not None]
    return (min(values), max(values)) if values else None


def _sparkline(features: list[list[float | None]], bounds: tuple[float, float] | None) -> str:
    import base64
    import io

    from PIL import Image, ImageDraw

    width, height = SPARK_SIZE
    image = Image.new("RGB", SPARK_SIZE, "white")
    draw = ImageDraw.Draw(image)
    values = np.asarray([[np.nan if v is None else v for v in f] for f in features], float)
    low, high = bounds or (np.nanmin(values), np.nanmax(values))
    span = high - low if high > low else 1.0
    colours = ("#1f77b4", "#ff7f0e", "#2ca02c")
    for feature, colour in zip(values, colours, strict=False):
        xs = np.linspace(1, width - 2, len(feature))
        ys = height - 2 - (feature - low) / span * (height - 4)
        points = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True) if np.isfinite(y)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=1)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def tree_choices(frame: pd.DataFrame) -> list[dict[str, str | int]]:
    """The sentences whose predicted tree can be drawn (a model of parse trees records the
    trees of the sentences a user sees first, column `tree`): dropdown options, the
    misclassified first."""
    if "tree" not in frame:
        return []
    options = []
    for index in seen_first(frame[frame["tree"].notna()]):
        row = frame.loc[index]
        mark = "" if row["correct"] else "✗ "
        text = f"{mark}{row['preview'][:90]} (true {row['target']}, predicted {row['prediction']})"
        options.append({"label": text, "value": int(index)})
    return options


def tree_layout(nodes: list[dict]) -> pd.DataFrame:
    """Where each node of a recorded tree is drawn: leaves along x in word order, a parent
    above the middle of its children (y is the node's height: leaves 0, the root highest)."""
    x: list[float] = []
    y: list[int] = []
    leaves = 0
    for node in nodes:  # post-order: children come before their parent
        children = node["children"]
        if children:
            x.append(float(np.mean([x[c] for c in children])))
            y.append(1 + max(y[c] for c in children))
        else:
            x.append(float(leaves))
            y.append(0)
            leaves += 1
    frame = pd.DataFrame(nodes)
    frame["x"], frame["y"] = x, y
    return frame
