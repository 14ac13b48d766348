"""Data loading: files on disk and in-memory objects become one `Dataset`.

Loaders only read and normalise containers; deciding what the data *is* (the decision-table row)
is `automl.task`'s job, and fitting scalers or vocabularies is `automl.preprocessing`'s.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from automl.errors import DataError

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"})
TABLE_READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
# When --target is omitted, a column with one of these names (any case) is the target.
TARGET_COLUMN_NAMES = ("target", "label", "labels", "class", "y")
SPLIT_FOLDER_NAMES = ("train", "training", "val", "valid", "test")
MIN_IMAGE_SIDE = 4  # a 3-D array whose last two sides are both at least this is read as images
IMAGE_CHANNELS = (1, 3, 4)

Modality = Literal["table", "image"]


@dataclass
class Dataset:
    """Raw features and labels plus what the loader saw.

    X is a DataFrame for tables and a float32 array (n, H, W, C) for images; `evidence` is the
    loader's account in words ("1 797 PNG files in 10 class folders") and `notes` lists the
    recoverable oddities it handled (resized images, skipped files, dropped rows).
    """

    modality: Modality
    X: pd.DataFrame | np.ndarray
    y: np.ndarray | None
    name: str
    evidence: str
    target_name: str | None = None
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.X)

    @property
    def data_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in np.shape(self.X))


# ----------------------------------------------------------------------------- files on disk


def load_path(path: str | Path, target: str | None = None) -> Dataset:
    """Read a table file or an image folder (one sub-folder per class) into a Dataset."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"The path '{path}' does not exist; pass a table file or an image folder.")
    if path.is_file():
        return _load_table_file(path, target)
    return _load_folder(path, target)


def _files(folder: Path) -> list[Path]:
    """Every visible file under a folder, any depth, in a stable order."""
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not _hidden(p, folder)]


def _load_folder(folder: Path, target: str | None) -> Dataset:
    files = _files(folder)
    if not files:
        raise DataError(
            f"The folder '{folder}' is empty; put one sub-folder of images per class in it."
        )
    images = [p for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
    tables = [p for p in files if p.suffix.lower() in TABLE_READERS]
    if images:
        if target is not None:
            raise DataError(
                f"--target names a table column, but '{folder}' is an image folder whose labels "
                "are its sub-folder names; leave --target out."
            )
        return _load_labelled_image_folder(folder, images)
    if len(tables) == 1:
        return _load_table_file(tables[0], target)
    kinds = ", ".join(sorted({p.suffix.lower() or "(no extension)" for p in files})[:8])
    raise DataError(
        f"Found no images or single table in '{folder}' (file types: {kinds}); expected "
        f"class sub-folders of {'/'.join(sorted(e[1:] for e in IMAGE_EXTENSIONS))} images, "
        "or pass the table file itself."
    )


def _data_name(folder: Path) -> str:
    """A study name for a folder: data/pets -> 'pets'; data/pets/train -> 'pets' too."""
    folder = folder.resolve()
    if folder.name.lower() in SPLIT_FOLDER_NAMES and folder.parent.name:
        return folder.parent.name
    return folder.name


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _load_labelled_image_folder(folder: Path, images: list[Path]) -> Dataset:
    flat = [p for p in images if p.parent == folder]
    if flat:
        raise DataError(
            f"'{folder}' has {len(flat)} images directly inside it; labelled image data needs one "
            "sub-folder per class (e.g. cats/, dogs/). Move the images into class folders."
        )
    labels = [p.relative_to(folder).parts[0] for p in images]
    splits = sorted(set(labels))
    if set(splits) <= set(SPLIT_FOLDER_NAMES):
        suggestion = folder / ("train" if "train" in splits else splits[0])
        raise DataError(
            f"'{folder}' holds split folders ({', '.join(splits)}), not classes; "
            f"pass the training split, e.g. {suggestion}"
        )
    X, kept, notes = read_images(images)
    y = np.asarray([labels[i] for i in kept], dtype=object)
    counts = collections.Counter(p.suffix.lower().lstrip(".").upper() for p in images)
    kinds = "/".join(k for k, _ in counts.most_common())
    n_classes = len(set(labels))
    evidence = f"{len(images):,} {kinds} files in {n_classes} class folders".replace(",", " ")
    return Dataset(
        modality="image",
        X=X,
        y=_as_label_array(y),
        name=_data_name(folder),
        evidence=evidence,
        notes=notes,
    )


def list_image_files(folder: Path) -> list[Path]:
    """All image files under a folder (any depth), in a stable order."""
    return [p for p in _files(folder) if p.suffix.lower() in IMAGE_EXTENSIONS]


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


def _load_table_file(path: Path, target: str | None) -> Dataset:
    df = read_table(path)
    return _labelled_table(df, target, name=path.stem, evidence=f"table {path.name}")


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; a file that cannot be parsed is a DataError naming it."""
    kind = TABLE_READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot read '{path.name}': supported tables are "
            f"{', '.join(sorted(TABLE_READERS))}; images go in class sub-folders."
        )
    try:
        df = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Cannot read '{path}' as {kind}: {first_line}") from exc
    if df.empty or df.shape[1] == 0:
        raise DataError(f"The table '{path}' has no rows or no columns.")
    return df


def resolve_target(columns: Sequence[Any], target: str | None) -> tuple[str, str | None]:
    """Pick the target column: the one named by --target, else the one named like a target.

    Returns (column, note); the note says a guess was made so the CLI can print it.
    """
    names = [str(c) for c in columns]
    shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
    if target is not None:
        if target not in names:
            raise DataError(f"The target column '{target}' is not in the table; columns: {shown}.")
        return target, None
    matches = [c for c in names if c.strip().lower() in TARGET_COLUMN_NAMES]
    if len(matches) == 1:
        return matches[0], f"target column '{matches[0]}' chosen by its name; --target overrides"
    if len(matches) > 1:
        raise DataError(
            f"The target column is ambiguous ({', '.join(matches)} all look like targets); "
            "pass --target COL."
        )
    raise DataError(
        f"No target column given or named {'/'.join(TARGET_COLUMN_NAMES)}; pass --target COL "
        f"(columns: {shown})."
    )


def _labelled_table(df: pd.DataFrame, target: str | None, name: str, evidence: str) -> Dataset:
    df = df.rename(columns=str)
    column, note = resolve_target(df.columns, target)
    notes = [note] if note else []
    y = df[column]
    missing = y.isna().to_numpy()
    if missing.all():
        raise DataError(f"The target column '{column}' has no values.")
    if missing.any():
        notes.append(f"dropped {int(missing.sum())} rows whose target '{column}' is missing")
        df, y = df.loc[~missing], y.loc[~missing]
        if pd.api.types.is_float_dtype(y) and (y == y.round()).all():
            y = y.astype(np.int64)  # the gaps had made whole-number labels float
    X = df.drop(columns=[column]).reset_index(drop=True)
    if X.shape[1] == 0:
        raise DataError(f"The table has no feature columns besides the target '{column}'.")
    return Dataset(
        modality="table",
        X=X,
        y=_as_label_array(y.to_numpy()),
        name=name,
        evidence=f"{evidence}: {len(X):,} rows x {X.shape[1]} feature columns".replace(",", " "),
        target_name=column,
        notes=notes,
    )


# ----------------------------------------------------------------------------- in memory


def from_memory(X: Any, y: Any = None) -> Dataset:
    """Wrap arrays / DataFrames: 2-D is a table, (n,H,W) or (n,H,W,C) is a stack of images."""
    if y is None:
        raise DataError(
            "Labels are required: pass y. (Unlabelled data is searched with autoencoders "
            "and RBMs, which are not available yet.)"
        )
    y_arr = _as_label_array(np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y))
    if y_arr.ndim != 1:
        raise DataError(f"y must be one label per row (1-D); got shape {y_arr.shape}.")
    if isinstance(X, pd.DataFrame):
        frame = X.rename(columns=str).reset_index(drop=True)
        dataset = Dataset("table", frame, y_arr, "dataframe", "in-memory DataFrame")
    else:
        arr = _as_numeric_array(X)
        dataset = _dataset_from_array(arr, y_arr)
    if len(dataset.X) != len(y_arr):
        raise DataError(f"X has {len(dataset.X)} rows but y has {len(y_arr)}; they must match.")
    missing = pd.isna(y_arr) if y_arr.dtype == object else np.isnan(y_arr.astype(float))
    if np.any(missing):
        raise DataError(
            f"y has {int(np.sum(missing))} missing labels; drop those rows or fill them in."
        )
    rows = f"{len(y_arr):,}".replace(",", " ")
    dataset.evidence = f"{dataset.evidence}: {rows} rows, shape {dataset.data_shape[1:]}"
    return dataset


def features_from_memory(X: Any, modality: Modality) -> pd.DataFrame | np.ndarray:
    """Features for prediction, in the container the fitted preprocessing expects."""
    if modality == "table":
        if isinstance(X, pd.DataFrame):
            return X.rename(columns=str).reset_index(drop=True)
        arr = _as_numeric_array(X)
        if arr.ndim != 2:
            raise DataError(f"Expected a 2-D table of features; got shape {arr.shape}.")
        return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
    arr = _as_numeric_array(X)
    return _images_from_array(arr)


def _dataset_from_array(arr: np.ndarray, y: np.ndarray) -> Dataset:
    if arr.ndim == 2:
        frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        return Dataset("table", frame, y, "array", "in-memory 2-D array")
    if arr.ndim in (3, 4):
        return Dataset("image", _images_from_array(arr), y, "images", "in-memory image array")
    raise DataError(
        f"Cannot read an array of shape {arr.shape}: expected (n, features) for a table or "
        "(n, H, W) / (n, H, W, C) for images."
    )


def _images_from_array(arr: np.ndarray) -> np.ndarray:
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
            f"{MIN_IMAGE_SIDE}); pass a 2-D (n, features) array to treat them as a table."
        )
    if arr.shape[-1] == 4:
        arr = arr[..., :3]  # alpha carries no class information here
    if not np.isfinite(arr).all():
        raise DataError("The image array has NaN or infinite values; clean or fill them first.")
    return np.ascontiguousarray(arr, dtype=np.float32)


def _as_numeric_array(X: Any) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(
            "X must be numeric (an array or a DataFrame; pass a DataFrame for text or "
            f"categorical columns): {exc}"
        ) from exc
    return arr


def _as_label_array(y: np.ndarray) -> np.ndarray:
    """Labels as a plain 1-D numpy array: numbers stay numbers, everything else is object."""
    y = np.asarray(y)
    if y.dtype.kind in "biuf":
        return y
    if y.dtype.kind in "US":
        return y.astype(object)
    if y.dtype == object:
        if all(_is_number(v) for v in y):
            return y.astype(np.float64)
        if len({type(v) for v in y if not pd.isna(v)}) > 1:
            # mixed kinds (1 and "a", True and "b") cannot be sorted: compare them as text
            return np.asarray([v if pd.isna(v) else str(v) for v in y], dtype=object)
        return y
    return y.astype(object)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
