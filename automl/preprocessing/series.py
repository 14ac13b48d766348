"""Series: standardised per feature; series of different lengths padded at the end with
all-NaN steps, which the sequence families read as a mask. Audio becomes log-mel frames first.
Series to forecast are `automl.preprocessing.forecast`'s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.data.audio import frame_parameters, log_mel
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.task_info import TaskInfo

# longer series keep their last MAX_STEPS steps: all but a few of the UCR archive's lengths
# (Rock 2844, HandOutlines 2709) fit, and a cut series loses what tells classes apart (ACSF1's
# 1460 steps cut to 1000: MiniRocket's features 93 % on the test split in full, 88 % cut)
MAX_STEPS = 3_000


@dataclass
class SeriesPreprocessor(ModalityPreprocessor):
    """Per-feature standardisation; padding to a common length with all-NaN steps (a mask).

    `fixed_steps` (unlabelled series) pads or cuts every series to that many steps and pads
    with zeros, since an autoencoder reconstructs a fixed-size vector.
    """

    KEY = "series"
    n_features: int
    mean: list[float]
    std: list[float]
    max_steps: int
    fixed_steps: bool = False

    @classmethod
    def from_training(cls, part: Dataset, task: TaskInfo) -> SeriesPreprocessor:
        return cls.fit(part.X, fixed_steps=task.target_kind == "none")

    @classmethod
    def fit(cls, series: list[np.ndarray], fixed_steps: bool = False) -> SeriesPreprocessor:
        stacked = np.concatenate([s[-MAX_STEPS:] for s in series])
        mean = np.nanmean(stacked, axis=0)
        std = np.nanstd(stacked, axis=0)
        return cls(
            n_features=int(stacked.shape[1]),
            mean=[float(v) if np.isfinite(v) else 0.0 for v in mean],
            std=[float(v) if np.isfinite(v) and v > 1e-8 else 1.0 for v in std],
            max_steps=int(min(MAX_STEPS, max(len(s) for s in series))),
            fixed_steps=fixed_steps,
        )

    def standardise(self, series: np.ndarray) -> np.ndarray:
        if series.ndim != 2 or series.shape[1] != self.n_features:
            raise DataError(
                f"The model takes series with {self.n_features} feature(s) per step; got "
                f"shape {series.shape}."
            )
        out = (series - np.asarray(self.mean)) / np.asarray(self.std)
        return np.nan_to_num(out, nan=0.0).astype(np.float32)  # a missing value is the mean

    def transform(self, series: list[np.ndarray]) -> np.ndarray:
        cut = [self.standardise(s[-self.max_steps :]) for s in series]
        steps = self.max_steps if self.fixed_steps else max((len(s) for s in cut), default=1)
        fill = 0.0 if self.fixed_steps else np.nan
        out = np.full((len(cut), max(steps, 1), self.n_features), fill, dtype=np.float32)
        for i, s in enumerate(cut):
            out[i, : len(s)] = s[:steps]
        return out

    def inverse_transform(self, inputs: np.ndarray) -> np.ndarray:
        """(n, T, F) standardised -> (n, T, F) in the training series' units."""
        steps = inputs.reshape(len(inputs), -1, self.n_features)
        return steps * np.asarray(self.std) + np.asarray(self.mean)

    def input_shape(self) -> tuple[int, ...]:
        return (self.max_steps, self.n_features)

    def describe(self, key: str = "series") -> list[str]:
        """`key`: where these fields sit in the bundle JSON (audio.series, forecast.series)."""
        steps = (
            f"standardise each step's features: (value - {key}.mean[f]) / {key}.std[f], a "
            f"missing value becoming 0; keep the last {key}.max_steps steps"
        )
        if self.fixed_steps:
            return [f"{steps}; pad with 0 steps to {key}.max_steps"]
        return [
            f"{steps}; pad a batch to its longest series with all-NaN steps (the network reads "
            "them as absent)"
        ]


@dataclass
class AudioPreprocessor(ModalityPreprocessor):
    """Log-mel frames at the training sample rate; the frames then go through `series`."""

    KEY = "audio"
    frames: dict[str, int]  # sample_rate, n_fft, win_length, hop_length, n_mels
    series: SeriesPreprocessor

    @classmethod
    def from_training(cls, part: Dataset, task: TaskInfo) -> AudioPreprocessor:
        return cls.fit(part.X, part.sample_rate, task.target_kind == "none")

    @classmethod
    def fit(cls, waves: list[np.ndarray], sample_rate: int, fixed_steps: bool) -> AudioPreprocessor:
        frames = frame_parameters(sample_rate)
        mels = [log_mel(w, frames) for w in waves]
        return cls(frames, SeriesPreprocessor.fit(mels, fixed_steps))

    def transform(self, waves: list[np.ndarray]) -> np.ndarray:
        return self.series.transform([log_mel(w, self.frames) for w in waves])

    def input_shape(self) -> tuple[int, ...]:
        return self.series.input_shape()

    def describe(self) -> list[str]:
        return [
            "read the waveform as floats in [-1, 1] at audio.frames.sample_rate",
            "log-mel frames: Hann windows of win_length samples every hop_length samples, "
            "power spectrum over n_fft points, n_mels triangular HTK mel filters from 0 Hz to "
            "half the sample rate, log(energy + 1e-6)",
            *self.series.describe("audio.series"),
        ]

    def reading_hints(self) -> dict[str, Any]:
        """How new audio files are read for prediction: at the training sample rate."""
        return {"sample_rate": self.frames["sample_rate"]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioPreprocessor:
        return cls(data["frames"], SeriesPreprocessor.from_dict(data["series"]))
