"""Images: the network's input grid, standardised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.data import Dataset
from automl.errors import DataError
from automl.preprocessing.base import ModalityPreprocessor
from automl.task_info import TaskInfo


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
        scale = 255.0 if float(images.max()) > 1.0 else 1.0
        scaled = images / scale
        std = scaled.std(axis=(0, 1, 2))
        return cls(
            height=int(images.shape[1]),
            width=int(images.shape[2]),
            channels=int(images.shape[3]),
            scale=scale,
            mean=[float(m) for m in scaled.mean(axis=(0, 1, 2))],
            std=[float(s) if s > 1e-6 else 1.0 for s in std],
        )

    def transform(self, images: np.ndarray) -> np.ndarray:
        expected = (self.height, self.width, self.channels)
        if tuple(images.shape[1:]) != expected:
            raise DataError(
                f"The model takes images of shape {expected} (H, W, C); got {tuple(images.shape[1:])}."
            )
        out = (images / self.scale - np.asarray(self.mean)) / np.asarray(self.std)
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)

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
