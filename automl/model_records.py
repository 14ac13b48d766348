"""What the finish keeps for the dashboard's model view: the exported model's predictions.

One row per validation sample (predicted by the ensemble before any refit saw it) and per
sample of a given test split: the sample's reference (its file name or row number), the
target, the prediction and, for a classifier, each class's probability; for a model of
unlabelled data, its anomaly score. Each row carries a small preview of the sample (a PNG
thumbnail, the start of a text, a series' values, a table row), and for unlabelled images and
series the reconstruction's, so the dashboard draws the model's quality without torch.

    frame = pd.read_parquet(study_dir / PREDICTIONS_FILE)
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.data import Dataset
from automl.data.text import tokenize
from automl.data.trees import phrases, sentence_tree
from automl.forecaster import median_index
from automl.predictor import class_probabilities, reconstruction_errors
from automl.prepare import PreparedData
from automl.preprocessing import Preprocessing
from automl.study import FORECAST_FILE, PREDICTIONS_FILE, PROBABILITY_PREFIX, seen_first
from automl.task_info import TaskInfo

BACKTESTS = 12  # validation windows whose forecasts are kept per series, evenly spaced
RECORDED_SERIES = 24  # of a long table's series, the first ones
MAX_ROWS = 5000  # per split: a larger split is sampled (rows_in_split says how many it had)
PREVIEW_COLUMNS = 20  # of a table row
THUMBNAIL_SIDE = 64  # pixels, the longer side of an image preview
PREVIEW_CHARS = 300  # of a text
PREVIEW_STEPS = 200  # of a series, per feature (evenly spaced)
PREVIEW_FEATURES = 3  # of a series
# An audio sample's player: its first seconds as 8-bit 8 kHz WAV (about 20 kB a clip), for at
# most this many samples a split, in the gallery's order (mistakes first)
AUDIO_CLIP_S = 2.0
AUDIO_CLIP_RATE = 8000
AUDIO_CLIPS = 1000
# sentences whose predicted tree is recorded, per split: those the model view offers, mistakes
# first (every member composes every node of each, which took 14 s past a 30-minute budget
# for all 3 311 SST sentences and a 16-member ensemble)
TREES = 300


def record_predictions(
    study_dir: Path,
    dataset: Dataset,
    task: TaskInfo,
    preprocessing: Preprocessing,
    rows: dict[str, np.ndarray],
    outputs: dict[str, np.ndarray],
    inputs: dict[str, np.ndarray],
    seed: int,
    node_probabilities: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Path | None:
    """Write <study>/predictions.parquet; `outputs` and `inputs` by split ("val", "test") are
    the network's raw outputs and its preprocessed inputs on those rows. A forecast's samples
    are windows of one series: see record_forecast. `node_probabilities` (an RNTN's, on parse
    trees) adds each sample's tree with every node's prediction (column `tree`, JSON)."""
    if task.target_kind == "forecasting" or not rows:
        return None
    parts = []
    peak = brightest(dataset)
    for split, raw in outputs.items():
        rows_of_split = rows[split]
        keep = np.arange(len(rows_of_split))
        if len(keep) > MAX_ROWS:
            keep = np.sort(np.random.default_rng(seed).permutation(len(keep))[:MAX_ROWS])
        picked = rows_of_split[keep]
        frame = _predictions(task, preprocessing, raw[keep], inputs[split][keep], dataset.y, picked)
        frame.insert(0, "split", split)
        frame.insert(1, "row", picked)
        frame.insert(2, "sample", [dataset.ids[i] if dataset.ids else str(i) for i in picked])
        frame["rows_in_split"] = len(rows_of_split)
        frame["preview_kind"] = PREVIEW_KINDS[dataset.modality]
        frame["preview"] = _previews(
            dataset, task, preprocessing, picked, inputs[split][keep], peak
        )
        if dataset.modality == "audio":
            frame["media"] = _audio_clips(dataset, frame)
        if task.target_kind == "none":
            frame["reconstruction"] = _reconstruction_previews(preprocessing, raw[keep], task, peak)
        if node_probabilities is not None and task.tree_leaves is not None:
            shown = seen_first(frame)[:TREES].to_numpy()
            lines = [dataset.X[i] for i in picked[shown]]
            probabilities = node_probabilities(inputs[split][keep][shown])
            classes = preprocessing.target.classes or []
            frame["tree"] = None
            frame.loc[shown, "tree"] = _trees(lines, probabilities, task.tree_leaves, classes)
        parts.append(frame)
    table = pd.concat(parts, ignore_index=True)
    path = study_dir / PREDICTIONS_FILE
    table.to_parquet(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").replace(path)  # a reader never sees half a file
    return path


def record_forecast(
    study_dir: Path,
    dataset: Dataset,
    prepared: PreparedData,
    val_outputs: np.ndarray,
    next_values: np.ndarray,
) -> Path:
    """Write <study>/forecast.json: for each series (up to RECORDED_SERIES) its history, the
    model's backtests (forecasts from validation origins, with their intervals, beside what
    happened) and its forecast of the next steps. The first series' record is also at the
    top level, as 0.2.0 wrote it."""
    forecast = prepared.preprocessing.inputs
    quantiles = forecast.quantiles
    middle = median_index(quantiles)
    ids = list(dataset.ids or [str(i) for i in range(len(dataset.X))])
    by_series: dict[int, list[tuple[int, int]]] = {}
    for window, (series, origin) in enumerate(prepared.origins):
        by_series.setdefault(int(series), []).append((window, int(origin)))
    records = []
    for i in range(min(RECORDED_SERIES, len(dataset.X))):
        values = np.asarray(dataset.X[i], dtype=np.float64)[:, 0]
        scale = forecast.scales.get(ids[i], 1.0)
        windows = by_series.get(i, [])
        kept = np.unique(np.linspace(0, len(windows) - 1, min(BACKTESTS, len(windows))).astype(int))
        backtests = []
        for k in kept if windows else []:
            window, origin = windows[k]
            predicted = forecast.calibrated(val_outputs[window : window + 1])[0] * scale
            backtests.append(
                {
                    "start": origin,
                    "predicted": _numbers(predicted[:, middle]),
                    "lower": _numbers(predicted[:, 0]),
                    "upper": _numbers(predicted[:, -1]),
                    "actual": _numbers(values[origin : origin + forecast.horizon]),
                }
            )
        records.append(
            {
                "id": ids[i],
                "times": [
                    str(t) for t in (dataset.times[i] if dataset.times else range(len(values)))
                ],
                "values": _numbers(values),
                "backtests": backtests,
                "next": _numbers(next_values[i, :, middle]),
                "next_lower": _numbers(next_values[i, :, 0]),
                "next_upper": _numbers(next_values[i, :, -1]),
            }
        )
    record = {
        **records[0],
        "target": dataset.target_name,
        "horizon": forecast.horizon,
        "window": forecast.window,
        "period": forecast.period,
        "quantiles": quantiles,
        "baselines": (prepared.task.forecast or {}).get("baselines", {}),
        "n_series": len(dataset.X),
        "series": records,
    }
    path = study_dir / FORECAST_FILE
    path.with_suffix(".tmp").write_text(json.dumps(record))
    path.with_suffix(".tmp").replace(path)
    return path


def _numbers(values: np.ndarray) -> list[float | None]:
    return [_number(v) for v in np.asarray(values, dtype=np.float64)]


def _predictions(
    task: TaskInfo,
    preprocessing: Preprocessing,
    outputs: np.ndarray,
    inputs: np.ndarray,
    y: np.ndarray | None,
    rows: np.ndarray,
) -> pd.DataFrame:
    if task.target_kind == "none":
        return pd.DataFrame({"score": reconstruction_errors(outputs, inputs)})
    target = pd.Series(np.asarray(y, dtype=object)[rows]) if y is not None else None
    prediction = preprocessing.target.decode(outputs)
    frame = pd.DataFrame({"target": target, "prediction": prediction})
    if task.is_classification:
        probabilities = class_probabilities(outputs)
        frame["confidence"] = probabilities.max(axis=1)
        frame["correct"] = frame["target"].astype(str) == frame["prediction"].astype(str)
        for i, label in enumerate(preprocessing.target.classes or []):
            frame[f"{PROBABILITY_PREFIX}{label}"] = probabilities[:, i]
        frame["target"] = frame["target"].astype(str)
        frame["prediction"] = frame["prediction"].astype(str)
    else:
        frame["target"] = frame["target"].astype(float)
        frame["error"] = frame["prediction"] - frame["target"]
    return frame


# ----------------------------------------------------------------------------- previews


PREVIEW_KINDS = {
    "image": "image",
    "audio": "image",
    "series": "series",
    "text": "text",
    "table": "table",
}


def _previews(
    dataset: Dataset,
    task: TaskInfo,
    preprocessing: Preprocessing,
    rows: np.ndarray,
    seen: np.ndarray,
    peak: float,
) -> list[str]:
    """A small, self-contained view of each sample: a PNG data URI (images, audio's log-mel),
    the start of a text, or JSON (a series' values, a table row). Audio's log-mel frames and
    an unlabelled series are drawn from `seen`, the network's inputs, which hold them already
    (the series as the network saw it: its last steps, padded, as its reconstruction is)."""
    modality = dataset.modality
    if modality == "audio":
        return [png_data_uri(_spectrogram_pixels(_unpadded(frames))) for frames in seen]
    if modality == "series" and task.target_kind == "none":
        return [json.dumps(_series_points(s)) for s in preprocessing.inputs.inverse_transform(seen)]
    if modality == "image":
        return [png_data_uri(_as_pixels(dataset.X[row], peak)) for row in rows]
    if modality == "text" and task.tree_leaves is not None:  # the sentence, not its brackets
        return [" ".join(sentence_tree(dataset.X[row], tokenize).leaves()) for row in rows]
    if modality == "text":
        return [str(dataset.X[row])[:PREVIEW_CHARS] for row in rows]
    if modality == "series":
        return [json.dumps(_series_points(dataset.X[row])) for row in rows]
    values = dataset.X.iloc[rows, :PREVIEW_COLUMNS]
    return [json.dumps({str(k): _plain(v) for k, v in row.items()}) for _, row in values.iterrows()]


def _trees(
    lines: list[str], probabilities: np.ndarray, leaves: int, classes: list[Any]
) -> list[str]:
    """Each sentence's tree as JSON: its nodes in post-order (the root last), each with its
    phrase, given label, predicted label and confidence, and its children's positions."""
    out = []
    for line, chances in zip(lines, probabilities, strict=True):
        position: dict[int, int] = {}
        nodes = []
        for phrase in phrases(sentence_tree(line, tokenize), leaves):
            position[phrase.node] = len(nodes)
            nodes.append(
                {
                    "phrase": phrase.words,
                    "label": phrase.label,
                    "prediction": str(classes[int(chances[phrase.node].argmax())]),
                    "confidence": round(float(chances[phrase.node].max()), 4),
                    "children": [position[c] for c in phrase.children],
                }
            )
        out.append(json.dumps(nodes))
    return out


def _unpadded(frames: np.ndarray) -> np.ndarray:
    """Frames without the all-NaN steps that pad a shorter clip to the batch's length."""
    return frames[~np.isnan(frames).all(axis=1)]


def _audio_clips(dataset: Dataset, frame: pd.DataFrame) -> list[str | None]:
    """A playable clip for the samples a user sees first."""
    clips: list[str | None] = [None] * len(frame)
    for position in seen_first(frame)[:AUDIO_CLIPS]:
        clips[position] = wav_data_uri(
            dataset.X[int(frame.at[position, "row"])], dataset.sample_rate
        )
    return clips


def wav_data_uri(wave: np.ndarray, sample_rate: int | None) -> str:
    import wave as wav

    from scipy.signal import resample_poly

    samples = np.asarray(wave, dtype=np.float64)[
        : int(AUDIO_CLIP_S * (sample_rate or AUDIO_CLIP_RATE))
    ]
    if sample_rate and sample_rate != AUDIO_CLIP_RATE:
        samples = resample_poly(samples, AUDIO_CLIP_RATE, sample_rate)
    peak = float(np.abs(samples).max()) or 1.0
    pcm = np.clip(128 + 127 * samples / peak, 0, 255).astype(np.uint8)  # 8-bit WAV is unsigned
    buffer = io.BytesIO()
    with wav.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(AUDIO_CLIP_RATE)
        out.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _reconstruction_previews(
    preprocessing: Preprocessing, outputs: np.ndarray, task: TaskInfo, peak: float
) -> list[str | None]:
    if task.modality == "image":
        images = preprocessing.inputs.inverse_transform(outputs)
        return [png_data_uri(_as_pixels(image, peak)) for image in images]
    if task.modality == "series":
        series = preprocessing.inputs.inverse_transform(outputs)
        return [json.dumps(_series_points(s)) for s in series]
    return [None] * len(outputs)


def brightest(dataset: Dataset) -> float:
    """The images' largest value: 255 for 8-bit pictures, 16 for scikit-learn's digits.
    Previews are drawn against it, so dim data is not drawn black."""
    if dataset.modality != "image":
        return 1.0
    return float(np.max(dataset.X)) or 1.0


def _as_pixels(image: np.ndarray, peak: float) -> np.ndarray:
    """Pixels in 0..255 as uint8, (H, W) or (H, W, 3); `peak` is drawn white."""
    pixels = np.clip(np.asarray(image, dtype=np.float64) * (255.0 / peak), 0, 255)
    pixels = pixels.astype(np.uint8)
    return pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels


def _spectrogram_pixels(frames: np.ndarray) -> np.ndarray:
    """Log-mel frames (steps, bands) as a grey picture: time across, low bands at the bottom."""
    finite = np.nan_to_num(frames.astype(np.float64))
    low, high = float(finite.min()), float(finite.max())
    scaled = (finite - low) / (high - low) if high > low else np.zeros_like(finite)
    return (255 * scaled.T[::-1]).astype(np.uint8)


def png_data_uri(pixels: np.ndarray) -> str:
    from PIL import Image

    image = Image.fromarray(pixels)
    image.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    if max(image.size) < THUMBNAIL_SIDE // 2:  # 8x8 digits: enlarge, sharp, to be seen
        factor = THUMBNAIL_SIDE // max(image.size)
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _series_points(series: np.ndarray) -> list[list[float | None]]:
    """Up to PREVIEW_FEATURES features of up to PREVIEW_STEPS evenly spaced steps each."""
    values = np.asarray(series, dtype=np.float64).reshape(len(series), -1)
    steps = np.unique(np.linspace(0, len(values) - 1, min(PREVIEW_STEPS, len(values))).astype(int))
    picked = values[steps, :PREVIEW_FEATURES].T
    return [
        [None if not np.isfinite(v) else round(float(v), 5) for v in feature] for feature in picked
    ]


def _number(value: float) -> float | None:
    """JSON has no NaN: a missing value is null."""
    return float(value) if np.isfinite(value) else None


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, int | float | bool | str) else str(value)
