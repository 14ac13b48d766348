"""Small datasets written to disk in each natural format the loaders read.

Each writer makes data with a learnable signal (classes differ in frequency, words or shape),
so a tiny search trains on something real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy.io import wavfile

SAMPLE_RATE = 8000
TOPICS = {
    "markets": "shares stock price profit bank investors quarter trading market revenue".split(),
    "sport": "match goal team season coach players league score win championship".split(),
}
FILLER = "the a of and in to with for on at by from".split()


def series_of(label: int, length: int, rng: np.random.Generator, width: int = 2) -> np.ndarray:
    """(length, width): class 0 is a slow sine, class 1 a fast one, plus noise."""
    t = np.linspace(0, 1, length)
    freq = 2.0 if label == 0 else 6.0
    base = np.sin(2 * np.pi * freq * t + rng.uniform(0, np.pi))
    cols = [base * (1 + 0.5 * j) + 0.1 * rng.normal(size=length) for j in range(width)]
    return np.stack(cols, axis=1).astype(np.float32)


def labelled_series(n: int = 60, seed: int = 0, variable: bool = True):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    lengths = rng.integers(20, 40, size=n) if variable else np.full(n, 32)
    return [series_of(int(c), int(k), rng) for c, k in zip(labels, lengths, strict=True)], labels


def write_ts(path: Path, series: list[np.ndarray], labels) -> Path:
    equal = len({len(s) for s in series}) == 1
    lines = [
        "# written by tests/formats.py",
        "@problemName Waves",
        "@timeStamps false",
        "@missing false",
        "@univariate " + ("true" if series[0].shape[1] == 1 else "false"),
        f"@dimensions {series[0].shape[1]}",
        "@equalLength " + ("true" if equal else "false"),
        "@classLabel true " + " ".join(sorted({str(v) for v in labels})),
        "@data",
    ]
    for s, label in zip(series, labels, strict=True):
        dims = [",".join(f"{v:.5f}" for v in s[:, j]) for j in range(s.shape[1])]
        lines.append(":".join(dims) + f":{label}")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_ts_pair(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    series, labels = labelled_series(60, seed=0)
    write_ts(folder / "Waves_TRAIN.ts", series[:40], labels[:40])
    write_ts(folder / "Waves_TEST.ts", series[40:], labels[40:])
    return folder


def write_npz(path: Path) -> Path:
    series, labels = labelled_series(50, seed=1, variable=False)
    np.savez(path, X=np.stack(series), y=labels)
    return path


def write_wide_csv(path: Path) -> Path:
    series, labels = labelled_series(50, seed=2, variable=False)
    frame = pd.DataFrame(np.stack(series)[:, :, 0], columns=[f"t{i}" for i in range(32)])
    frame["label"] = np.where(labels == 0, "slow", "fast")
    frame.to_csv(path, index=False)
    return path


def write_long_csv(path: Path) -> Path:
    series, labels = labelled_series(40, seed=3)
    rows = [
        {"series_id": i, "time": t, "a": s[t, 0], "b": s[t, 1], "label": int(label)}
        for i, (s, label) in enumerate(zip(series, labels, strict=True))
        for t in range(len(s))
    ]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # order must not matter
    frame.to_csv(path, index=False)
    return path


def write_dated_csv(path: Path, n: int = 120) -> Path:
    rng = np.random.default_rng(4)
    t = np.arange(n)
    values = 10 + 3 * np.sin(2 * np.pi * t / 12) + 0.3 * rng.normal(size=n)
    pd.DataFrame(
        {"month": pd.date_range("2010-01-01", periods=n, freq="MS"), "sales": values}
    ).to_csv(path, index=False)
    return path


def documents(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    docs, labels = [], []
    for i in range(n):
        topic = list(TOPICS)[i % 2]
        words = list(rng.choice(TOPICS[topic], size=rng.integers(6, 14))) + list(
            rng.choice(FILLER, size=6)
        )
        rng.shuffle(words)
        docs.append(" ".join(words).capitalize() + ".")
        labels.append(topic)
    return docs, labels


def write_text_folder(root: Path, n: int = 60, seed: int = 5) -> Path:
    docs, labels = documents(n, seed)
    for i, (doc, label) in enumerate(zip(docs, labels, strict=True)):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:03d}.txt").write_text(doc, encoding="utf-8")
    return root


def write_text_csv(path: Path, n: int = 60) -> Path:
    docs, labels = documents(n, seed=6)
    pd.DataFrame({"review": docs, "label": labels}).to_csv(path, index=False)
    return path


def tone(label: str, rng: np.random.Generator) -> np.ndarray:
    """A noisy tone whose pitch says the class; lengths vary from 0.15 to 0.4 s."""
    seconds = rng.uniform(0.15, 0.4)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    freq = {"low": 300.0, "high": 1500.0}[label] * rng.uniform(0.9, 1.1)
    wave = 0.5 * np.sin(2 * np.pi * freq * t) + 0.05 * rng.normal(size=len(t))
    return (wave * 32767).astype(np.int16)


def write_wav_folder(root: Path, n: int = 40, seed: int = 7) -> Path:
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = ("low", "high")[i % 2]
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        wavfile.write(folder / f"{i:03d}.wav", SAMPLE_RATE, tone(label, rng))
    return root


def write_flat_images(root: Path, images: np.ndarray) -> Path:
    """Unlabelled: images directly in the folder, no class sub-folders."""
    root.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        pixels = (np.asarray(img) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(root / f"{i:04d}.png")
    return root


def write_split_images(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """train/ val/ test/ folders, each with class sub-folders; grey, RGB and RGBA mixed."""
    modes = ("L", "RGB", "RGBA")
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        split = ("train", "train", "train", "val", "test")[i % 5]
        folder = root / split / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (np.asarray(img) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").convert(modes[i % 3]).save(folder / f"{i:04d}.png")
    return root
