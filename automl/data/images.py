"""Images: decode files once, in parallel, to one uint8 (n, H, W, C) array.

Small images (neither side over NATIVE_MAX_SIDE) keep the most common size of the folder.
Larger ones, photos, are brought to a square working side, the largest of WORKING_SIDES that
the images, the cap and the memory allow; JPEGs are decoded at a reduced scale first (PIL's
draft), which is most of the speed. Photos that are not square are padded, whole, and their
content box is recorded: the network then searches both its resolution below the working
side and whether to centre-crop that box (automl/layers.py), so one decoded array serves
both fits. How the training images were read is recorded (ImageReading) and applied again at
prediction.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from automl.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
MIN_IMAGE_SIDE = 4  # a 3-D array whose last two sides are both at least this is read as images
IMAGE_CHANNELS = (1, 3, 4)
NATIVE_MAX_SIDE = 64  # images up to this side keep their size; larger ones get a working side
WORKING_SIDES = (256, 128, 64)  # square sides photos are brought to, the largest that fits
CPU_SIDE_CAP = 128  # on the CPU, and under SHORT_BUDGET_S, photos are kept at most this side
SHORT_BUDGET_SIDE_CAP = 64
SHORT_BUDGET_S = 15 * 60
GPU_SIDE_CAP = 256
MEMORY_SHARE = 0.125  # the training array (float32, as trials see it) stays under this of RAM
GREY_TOLERANCE = 6  # colour images whose channels differ by at most this (JPEG rounding) ...
GREY_SHARE = 0.001  # ... in all but this share of pixels are grey
# how a photo becomes square: searched (padded, the network may crop), its centre cropped,
# or padded with black
FITS = ("search", "crop", "pad")
CACHE_DIR = ".cache"  # under the studies folder: decoded folders, reused by later searches


@dataclass(frozen=True)
class ImageReading:
    """How image files become the array: a side to bring them to (None: the folder's own
    size when small, else a working side up to `max_side`), the colour mode, how photos
    become square, and where decoded folders are cached."""

    side: int | None = None  # --image-size
    fit: str = "search"  # --image-fit
    max_side: int = CPU_SIDE_CAP
    cache_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.side is not None and self.side < MIN_IMAGE_SIDE:
            raise DataError(
                f"--image-size must be at least {MIN_IMAGE_SIDE} pixels; got {self.side}."
            )
        if self.fit not in FITS:
            raise DataError(f"--image-fit must be one of {', '.join(FITS)}; got {self.fit!r}.")


def side_cap(budget_s: float | None, gpu: bool) -> int:
    """The largest working side for photos: the GPU trains 256 px; a CPU 128, or 64 when the
    budget is short (a quarter of an hour buys few trials at 128)."""
    if gpu:
        return GPU_SIDE_CAP
    if budget_s is not None and budget_s < SHORT_BUDGET_S:
        return SHORT_BUDGET_SIDE_CAP
    return CPU_SIDE_CAP


def read_images(
    paths: Sequence[Path],
    size: tuple[int, int] | None = None,
    mode: str | None = None,
    fit: str = "stretch",
    reading: ImageReading | None = None,
) -> tuple[np.ndarray, list[int], list[str], dict[str, Any]]:
    """Decode images to one uint8 array (n, H, W, C) in one colour mode.

    Prediction passes the training's `size`, `mode` and `fit`. Fitting passes `reading`
    instead: the most common size and mode win, and photos get a working side. Unreadable
    files are skipped and counted. Returns (array, kept indices, notes, how they were read:
    size, mode, fit and, where crop or pad is searched, the content box, for the next read).
    """
    reading = reading or ImageReading()
    cached = _cache_file(paths, size, mode, fit, reading)
    if cached is not None and cached.with_suffix(".json").exists():
        meta = json.loads(cached.with_suffix(".json").read_text())
        array = np.load(cached)
        return (
            array,
            meta["kept"],
            [*meta["notes"], "decoded images read from the cache"],
            {
                **meta["how"],
                **{k: tuple(v) for k, v in meta["how"].items() if k in ("size", "content")},
            },
        )
    headers, unreadable = _headers(paths)
    fitting = size is None
    notes = []
    content = None
    if fitting:
        common = collections.Counter(h[1] for h in headers).most_common(1)[0][0]
        mode = "RGB" if any(h[2] == "RGB" for h in headers) else "L"
        size, fit = _working_size(common, len(headers), 3 if mode == "RGB" else 1, reading)
        if fit == "search":
            content = _content_box(common, size)
            fit = "crop" if content is None else "pad"
        if mode == "RGB" and _grey_in_colour(_sample(paths, headers, size, fit)):
            mode = "L"  # decoded as grey by PIL directly, as prediction will
            notes.append("the images are grey saved as colour: read as grey (one channel)")
    mode = mode or "RGB"
    height, width = size
    array = np.zeros((len(headers), height, width, 3 if mode == "RGB" else 1), dtype=np.uint8)

    def decode(slot: int) -> bool:
        try:
            array[slot] = _decode(paths[headers[slot][0]], size, mode, fit)
            return True
        except (OSError, ValueError):  # PIL's UnidentifiedImageError is an OSError
            return False

    with ThreadPoolExecutor(max_workers=_threads()) as pool:  # PIL decodes without the GIL
        decoded = list(pool.map(decode, range(len(headers))))
    unreadable += [paths[headers[i][0]].name for i, ok in enumerate(decoded) if not ok]
    good = [i for i, ok in enumerate(decoded) if ok]
    if not good:
        raise DataError(f"None of the {len(paths)} image files could be decoded.")
    if len(good) < len(headers):
        array = array[good]
    kept = [headers[i][0] for i in good]
    resized = sum(1 for i in good if headers[i][1] != size)
    if resized:
        how = {
            "stretch": "resized",
            "crop": "centre-cropped and resized",
            "pad": "padded and resized",
        }
        notes.append(f"{how[fit]} {resized} images to {height}x{width}")
    if unreadable:
        notes.append(
            f"skipped {len(unreadable)} unreadable image files (e.g. {', '.join(unreadable[:3])})"
        )
    how_read: dict[str, Any] = {"size": size, "mode": mode, "fit": fit}
    if content is not None:  # only set when fitting
        how_read["content"] = content  # the networks may centre-crop this box of the padding
        notes.append(
            f"the photos are not square: padded whole ({content[0]}x{content[1]} of content), "
            "and the networks search a centre crop too"
        )
    if cached is not None:
        _write_cache(cached, array, kept, notes, how_read)
    return array, kept, notes, how_read


def _sample(
    paths: Sequence[Path], headers: list, size: tuple[int, int], fit: str, n: int = 64
) -> np.ndarray:
    """Up to `n` images spread over the folder, decoded in colour (unreadable ones left out)."""
    picked = np.unique(np.linspace(0, len(headers) - 1, min(n, len(headers))).astype(int))
    images = []
    for i in picked:
        try:
            images.append(_decode(paths[headers[i][0]], size, "RGB", fit))
        except (OSError, ValueError):
            continue
    return np.stack(images) if images else np.zeros((1, 1, 1, 3), dtype=np.uint8)


def _grey_in_colour(images: np.ndarray) -> bool:
    """Whether colour images are grey in fact (scans, renders saved as RGB JPEGs): hardly a
    pixel's channels differ by more than JPEG's rounding."""
    rows = images.astype(np.int16)
    spread = np.abs(rows - rows.mean(axis=-1, keepdims=True)).max(axis=-1)
    return float((spread > GREY_TOLERANCE).mean()) < GREY_SHARE


def _headers(paths: Sequence[Path]) -> tuple[list[tuple[int, tuple[int, int], str]], list[str]]:
    """(index, (height, width), target mode) of each readable file, and the unreadable names."""
    from PIL import Image

    def header(i: int) -> tuple[int, tuple[int, int], str] | None:
        try:
            with Image.open(paths[i]) as img:
                return i, (img.height, img.width), _target_mode(img.mode)
        except (OSError, ValueError):
            return None

    with ThreadPoolExecutor(max_workers=_threads()) as pool:
        found = list(pool.map(header, range(len(paths))))
    headers = [h for h in found if h is not None]
    if not headers:
        raise DataError(
            f"None of the {len(paths)} image files could be read (e.g. '{paths[0]}'); "
            "check they are valid PNG/JPEG files."
        )
    return headers, [paths[i].name for i, h in enumerate(found) if h is None]


def _working_size(
    common: tuple[int, int], n: int, channels: int, reading: ImageReading
) -> tuple[tuple[int, int], str]:
    """(size, fit) for training images whose most common size is `common`."""
    if reading.side is not None:
        return (reading.side, reading.side), reading.fit
    if max(common) <= NATIVE_MAX_SIDE:
        return common, "stretch"
    memory = MEMORY_SHARE * _total_memory()
    for side in WORKING_SIDES:
        fits_memory = n * side * side * channels * 4 <= memory
        if side <= reading.max_side and side <= min(common) and fits_memory:
            return (side, side), reading.fit
    return (WORKING_SIDES[-1], WORKING_SIDES[-1]), reading.fit


def _content_box(common: tuple[int, int], size: tuple[int, int]) -> tuple[int, int] | None:
    """The (height, width) photos of the folder's most common size fill once padded to
    `size` (as ImageOps.pad rounds), or None when they fill it all: square photos crop and
    pad alike."""
    (height, width), (side_h, side_w) = common, size
    if height * side_w == width * side_h:
        return None
    if width * side_h > height * side_w:  # wider than the square: bars above and below
        return max(1, round(side_w * height / width)), side_w
    return side_h, max(1, round(side_h * width / height))


def _decode(path: Path, size: tuple[int, int], mode: str, fit: str) -> np.ndarray:
    from PIL import Image, ImageOps

    height, width = size
    with Image.open(path) as img:
        if img.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale, still at least `size`
            img.draft(mode, (width, height))
        img = _to_8_bit(img).convert(mode)
        if (img.height, img.width) != size:
            if fit == "pad":
                img = ImageOps.pad(img, (width, height), Image.Resampling.BILINEAR)
            else:  # stretched, or the centre at the target's aspect ("crop")
                box = _centre(img.width, img.height, width / height) if fit == "crop" else None
                img = img.resize(
                    (width, height), Image.Resampling.BILINEAR, box=box, reducing_gap=2.0
                )
        arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _centre(width: int, height: int, aspect: float) -> tuple[float, float, float, float]:
    """The largest centred box of the given aspect (width / height) in a width x height image."""
    if width / height > aspect:
        side = height * aspect
        return ((width - side) / 2, 0.0, (width + side) / 2, float(height))
    side = width / aspect
    return (0.0, (height - side) / 2, float(width), (height + side) / 2)


def _cache_file(
    paths: Sequence[Path],
    size: tuple[int, int] | None,
    mode: str | None,
    fit: str,
    reading: ImageReading,
) -> Path | None:
    """Where this read of these files is cached: keyed by every file's path, size and
    modification time and by how they are read, so a changed file is decoded again."""
    if reading.cache_dir is None:
        return None
    digest = hashlib.sha256()
    for p in paths:
        stat = p.stat()
        # absolute, not resolved: resolving a path costs a system call per folder in it
        digest.update(f"{p.absolute()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    how = [size, mode, fit, reading.side, reading.fit, reading.max_side, MEMORY_SHARE]
    digest.update(json.dumps(how).encode())
    return Path(reading.cache_dir) / f"images-{digest.hexdigest()[:24]}.npy"


def _write_cache(
    file: Path, array: np.ndarray, kept: list[int], notes: list[str], how: dict
) -> None:
    """Best effort: a cache that cannot be written (read-only, full disk) costs only time."""
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        partial = file.with_suffix(".partial.npy")
        np.save(partial, array)
        partial.replace(file)
        meta = {"kept": kept, "notes": notes, "how": how}
        file.with_suffix(".json").write_text(json.dumps(meta))
    except OSError:
        return


def _threads() -> int:
    return max(1, min(16, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2))


def _total_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8e9


def images_from_array(arr: np.ndarray) -> np.ndarray:
    """Check and normalise an in-memory image stack to (n, H, W, C), C in (1, 3): uint8
    pixels stay uint8 (a quarter of the memory), others become float32."""
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
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
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
