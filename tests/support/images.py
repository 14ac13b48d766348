"""Image folders as users have them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_image_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """Write (n, H, W) images in [0, 16] as PNGs in one sub-folder per label."""
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = (np.asarray(img) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(folder / f"{i:04d}.png")
    return root


def write_photo_folder(
    root: Path, images: np.ndarray, labels: np.ndarray, size: tuple[int, int] = (240, 320)
) -> Path:
    """Write (n, H, W) images in [0, 16] as large RGB JPEGs (height x width = `size`), the
    image centred on a wider, tinted canvas, one sub-folder per label: photos, as a camera
    or a phone leaves them."""
    height, width = size
    for i, (img, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        grey = (np.asarray(img) * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)
        subject = Image.fromarray(grey, mode="L").resize((height, height), Image.Resampling.BICUBIC)
        canvas = Image.new("RGB", (width, height), (30 + 7 * (i % 5), 20, 40))
        warm = np.asarray(subject.convert("RGB")) * np.array([1.0, 0.8, 0.55])  # colour
        canvas.paste(Image.fromarray(warm.astype(np.uint8)), ((width - height) // 2, 0))
        canvas.save(folder / f"{i:04d}.jpg", quality=90)
    return root
