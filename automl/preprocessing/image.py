"""Images: the network's input grid, standardised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.task_info import TaskInfo

CHUNK = 1024  # images converted at a time


@dataclass
class ImagePreprocessor(ModalityPreprocessor):
    """Pixels scaled to [0, 1] and standardised per channel, channels first."""

    KEY = "image"
    height: int
    width: int
    channels: int
    scale: float  # divide by this to reach [0, 1]
    mean: list[float]
    std: list[float]

    @classmethod
    def from_training(cls, part: Dataset, task: TaskInfo) -> ImagePreprocessor:
        return cls.fit(part.X)

    @classmethod
    def fit(cls, images: np.ndarray) -> ImagePreprocessor:
        """Per-channel mean and deviation, summed chunk by chunk: a float64 copy of a large
        uint8 folder would take 8x its memory."""
        scale = 255.0 if images.dtype == np.uint8 or float(images.max()) > 1.0 else 1.0
        channels = images.shape[-1]
        total, squares = np.zeros(channels), np.zeros(channels)
        for start in range(0, len(images), CHUNK):
            chunk = images[start : start + CHUNK].reshape(-1, channels).astype(np.float64) / scale
            total += chunk.sum(axis=0)
            squares += (chunk**2).sum(axis=0)
        count = max(1, images.size // channels)
        mean = total / count
        std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
        return cls(
            height=int(images.shape[1]),
            width=int(images.shape[2]),
            channels=int(channels),
            scale=scale,
            mean=[float(m) for m in mean],
            std=[float(s) if s > 1e-6 else 1.0 for s in std],
        )

    def transform(self, images: np.ndarray) -> np.ndarray:
        expected = (self.height, self.width, self.channels)
        if tuple(images.shape[1:]) != expected:
            raise DataError(
                f"The model takes images of shape {expected} (H, W, C); got {tuple(images.shape[1:])}."
            )
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        out = np.empty((len(images), self.channels, self.height, self.width), dtype=np.float32)
        for start in range(0, len(images), CHUNK):  # float32 throughout, a chunk at a time
            chunk = images[start : start + CHUNK].astype(np.float32) / np.float32(self.scale)
            out[start : start + CHUNK] = ((chunk - mean) / std).transpose(0, 3, 1, 2)
        return out

    def inverse_transform(self, inputs: np.ndarray) -> np.ndarray:
        """(n, C, H, W) standardised -> (n, H, W) grey or (n, H, W, C) images in the
        training pixels' units."""
        images = inputs.reshape(-1, *self.input_shape()).transpose(0, 2, 3, 1)
        images = (images * np.asarray(self.std) + np.asarray(self.mean)) * self.scale
        return images[..., 0] if self.channels == 1 else images

    def input_shape(self) -> tuple[int, ...]:
        return (self.channels, self.height, self.width)

    def describe(self) -> list[str]:
        return [
            "decode the image and resize it to image.height x image.width, in image.channels "
            "channels (1: grey, 3: RGB)",
            "pixels / image.scale, then (value - image.mean[c]) / image.std[c] per channel",
            "lay it out channels first: (channels, height, width)",
        ]

    def reading_hints(self) -> dict[str, Any]:
        """How new image files are read for prediction: this size and colour mode."""
        return {
            "image": {
                "size": (self.height, self.width),
                "mode": "L" if self.channels == 1 else "RGB",
            }
        }
