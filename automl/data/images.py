"""Images: decode files to one float32 (n, H, W, C) array at a common size and colour mode."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
MIN_IMAGE_SIDE = 4  # a 3-D array whose last two sides are both at least this is read as images
IMAGE_CHANNELS = (1, 3, 4)


def read_images(
    paths: Sequence[Path], size: tuple[int, int] | None = None, mode: str | None = None
) -> tuple[np.ndarray, list[int], list[str]]:
    """Decode images to one float32 array (n, H, W, C) at a common size and colour mode.

    Without `size`/`mode` (fitting), the most common size and mode win and the rest are
    converted. Unreadable files are skipped and counted. Returns (array, kept indices, notes).
    """
    from PIL import Image, UnidentifiedImageError

    headers: list[tuple[int, tuple[int, int], str]] = []
    unreadable: list[str] = []
    for i, p in enumerate(paths):
        try:
            with Image.open(p) as img:
                headers.append((i, (img.height, img.width), _target_mode(img.mode)))
        except (OSError, UnidentifiedImageError, ValueError):
            unreadable.append(p.name)
    if not headers:
        raise DataError(
            f"None of the {len(paths)} image files could be read (e.g. '{paths[0]}'); "
            "check they are valid PNG/JPEG files."
        )
    size = size or collections.Counter(h[1] for h in headers).most_common(1)[0][0]
    mode = mode or ("RGB" if any(h[2] == "RGB" for h in headers) else "L")
    n_resized = sum(1 for h in headers if h[1] != size)
    arrays, kept = [], []
    for i, _, _ in headers:
        try:
            with Image.open(paths[i]) as img:
                img = _to_8_bit(img).convert(mode)
                if (img.height, img.width) != size:
                    img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                arr = np.asarray(img, dtype=np.float32)
        except (OSError, UnidentifiedImageError, ValueError):
            unreadable.append(paths[i].name)
            continue
        arrays.append(arr[..., None] if arr.ndim == 2 else arr)
        kept.append(i)
    if not arrays:
        raise DataError(f"None of the {len(paths)} image files could be decoded.")
    notes = []
    if n_resized:
        notes.append(f"resized {n_resized} images of other sizes to {size[0]}x{size[1]}")
    if unreadable:
        notes.append(
            f"skipped {len(unreadable)} unreadable image files (e.g. {', '.join(unreadable[:3])})"
        )
    return np.stack(arrays), kept, notes


def images_from_array(arr: np.ndarray) -> np.ndarray:
    """Check and normalise an in-memory image stack to float32 (n, H, W, C), C in (1, 3)."""
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in IMAGE_CHANNELS:
        raise DataError(
            f"Image arrays must be (n, H, W) or (n, H, W, C) with C in {IMAGE_CHANNELS}; "
            f"got shape {arr.shape}."
        )
    if min(arr.shape[1:3]) < MIN_IMAGE_SIDE:
        raise DataError(
            f"Images of {arr.shape[1]}x{arr.shape[2]} are too small (each side must be at least "
            f'{MIN_IMAGE_SIDE}); pass modality="series" if they are series, or a 2-D '
            "(n, features) array to treat them as a table."
        )
    if arr.shape[-1] == 4:
        arr = arr[..., :3]  # alpha carries no class information here
    if not np.isfinite(arr).all():
        raise DataError("The image array has NaN or infinite values; clean or fill them first.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _to_8_bit(img: Any) -> Any:
    """16-bit and float grey images scaled to 8 bits (Pillow's own convert would clip them)."""
    from PIL import Image

    if img.mode not in ("I;16", "I;16B", "I;16L", "I", "F"):
        return img
    values = np.asarray(img, dtype=np.float64)
    top = 65535.0 if img.mode.startswith("I;16") else max(float(values.max()), 255.0)
    return Image.fromarray(np.clip(values * (255.0 / top), 0, 255).astype(np.uint8))


def _target_mode(mode: str) -> str:
    return "L" if mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB"
