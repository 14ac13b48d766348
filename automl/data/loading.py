"""Files on disk to a Dataset: which reader a path needs, and folders of files.

A folder holds one kind of file (images, text, audio); one sub-folder per class makes it
labelled, files directly inside make it unlabelled, and train/val/test sub-folders are used as
the given split. A series or table file is read by its extension; a folder holding a UCR-style
pair (NAME_TRAIN.ts, NAME_TEST.ts) is read as the given train and test split.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.data.audio import AUDIO_EXTENSIONS, read_wavs
from automl.data.dataset import Dataset, as_label_array, count_text
from automl.data.images import IMAGE_EXTENSIONS, ImageReading, read_images
from automl.data.series import (
    SERIES_EXTENSIONS,
    describe_lengths,
    read_array_file,
    read_ts,
    refuse_empty,
    series_from_array,
)
from automl.data.table_files import TABLE_READERS, ReadOptions, TableReading, read_table
from automl.data.tables import interpret_table, long_table_series, numeric_values, read_dated
from automl.data.text import TEXT_EXTENSIONS, read_texts
from automl.data.trees import looks_like_trees, read_tree_file, tree_file_lines
from automl.errors import DataError

FOLDER_KINDS = {"image": IMAGE_EXTENSIONS, "text": TEXT_EXTENSIONS, "audio": AUDIO_EXTENSIONS}
SPLIT_FOLDER_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
PAIR_SUFFIXES = {"_train": "train", "_test": "test"}  # UCR/UEA archive file names


def load_path(
    path: str | Path,
    target: str | None = None,
    horizon: int | None = None,
    layout: str = "auto",
    reading: ReadOptions | None = None,
    images: ImageReading | None = None,
) -> Dataset:
    """Read a table or series file, or a folder of images, texts or .wav files; `reading`
    forces how a table file is read (encoding, separator, decimal mark, sheet, date order),
    `images` how image files are (their side, and where decoded folders are cached)."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"The path '{path}' does not exist; pass a data file or a folder of files.")
    if path.is_file():
        return _load_file(path, target, horizon, layout, reading)
    return _load_folder(path, target, horizon, layout, reading, images)


def visible_files(folder: Path) -> list[Path]:
    """Every visible file under a folder, any depth, in a stable order."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    for kind, extensions in FOLDER_KINDS.items():
        if suffix in extensions:
            return kind
    if suffix in TABLE_READERS or suffix in SERIES_EXTENSIONS:
        return "file"
    return None


def _load_file(
    path: Path, target: str | None, horizon: int | None, layout: str, reading: ReadOptions | None
) -> Dataset:
    suffix = path.suffix.lower()
    if suffix in TABLE_READERS:
        frame, how = read_table(path, reading)
        dataset = interpret_table(
            frame, target, name=path.stem, label=f"table {path.name}", horizon=horizon
        )
        dataset.notes[:0] = how.notes  # how the file was read comes before what it holds
        dataset.source["reading"] = how.record()
        return dataset
    _refuse_table_options(path, target, horizon, reading)
    if suffix in TEXT_EXTENSIONS and looks_like_trees(path):
        return _load_trees(path, [path])
    if suffix in SERIES_EXTENSIONS:
        series, y, notes, source = _read_series_file(path, layout)
        return _series_dataset(series, y, notes, path.stem, f"{path.name}", source)
    if kind_of(path) is not None:
        raise DataError(
            f"'{path.name}' is a single {kind_of(path)} file; pass the folder that holds one "
            "sub-folder of files per class."
        )
    raise DataError(
        f"Cannot read '{path.name}': pass a table ({', '.join(sorted(TABLE_READERS))}), a series "
        f"file ({', '.join(sorted(SERIES_EXTENSIONS))}) or a folder of images, .txt or .wav files."
    )


def _refuse_table_options(
    path: Path, target: str | None, horizon: int | None, reading: ReadOptions | None
) -> None:
    if reading is not None and reading != ReadOptions():
        raise DataError(
            f"--encoding, --sep, --decimal, --sheet and --date-order say how to read a table "
            f"file; '{path}' is not one: leave them out."
        )
    if target is not None:
        raise DataError(
            f"--target names a table column, but '{path}' is not a table: its labels come "
            "from its class sub-folders (or the file); leave --target out."
        )
    if horizon is not None:
        raise DataError(f"--horizon forecasts a dated series in a table file; '{path}' is not one.")


def _read_series_file(
    path: Path, layout: str
) -> tuple[list[np.ndarray], Any, list[str], dict[str, str]]:
    """(series, labels or None, notes, how it was read: the source of the Dataset)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "ts":
        series, y, _ = read_ts(path)
        return series, y, [], {"format": suffix}
    series, y, notes, resolved = read_array_file(path, layout)
    return series, y, notes, {"format": suffix, "layout": resolved}


def _series_dataset(
    series: list[np.ndarray],
    y: Any,
    notes: list[str],
    name: str,
    label: str,
    source: dict[str, str],
    split: np.ndarray | None = None,
) -> Dataset:
    refuse_empty(series, label)
    return Dataset(
        modality="series",
        X=series,
        y=None if y is None else as_label_array(y),
        name=name,
        evidence=f"{label}: {describe_lengths(series)}",
        notes=notes,
        ids=[str(i) for i in range(len(series))],
        split=split,
        source=source,
    )


def _load_folder(
    folder: Path,
    target: str | None,
    horizon: int | None,
    layout: str,
    reading: ReadOptions | None,
    images: ImageReading | None,
) -> Dataset:
    files = visible_files(folder)
    if not files:
        raise DataError(
            f"The folder '{folder}' is empty; put one sub-folder of files per class in it."
        )
    # Files in sub-folders say what the folder holds; loose files of another kind beside them
    # (a README.txt, a labels.csv) are ignored with a note rather than called a mix.
    nested_kinds = {kind_of(p) for p in files if len(p.relative_to(folder).parts) > 1}
    nested_kinds &= set(FOLDER_KINDS)
    pool = [p for p in files if kind_of(p) in nested_kinds] if nested_kinds else files
    kinds = collections.Counter(kind_of(p) for p in pool)
    found = [k for k in FOLDER_KINDS if kinds[k]]
    if len(found) > 1:
        counts = ", ".join(f"{count_text(kinds[k])} {k}" for k in found)
        raise DataError(
            f"'{folder}' mixes kinds of data ({counts} files); put each kind in its own folder."
        )
    texts = [p for p in pool if kind_of(p) == "text"]
    trees = [p for p in texts if looks_like_trees(p)]
    splits = {p for p in texts if p.stem.lower() in SPLIT_FOLDER_NAMES}
    if trees and not nested_kinds and (len(trees) == len(texts) or splits and splits <= set(trees)):
        # files of trees (every one, or every train/dev/test one: a README beside is noted)
        _refuse_table_options(folder, target, horizon, reading)
        dataset = _load_trees(folder, trees)
        tree_files = set(trees)  # sets: a folder of 60 000 files made these lists quadratic
        ignored = [p.name for p in files if p not in tree_files]
        if ignored:
            dataset.notes.append(f"ignored {', '.join(ignored[:5])} (not parse trees)")
        return dataset
    if found:
        _refuse_table_options(folder, target, horizon, reading)
        kind = found[0]
        pooled = set(pool)
        ignored = [p for p in files if kind_of(p) != kind or p not in pooled]
        files = [p for p in pool if kind_of(p) == kind]
        dataset = _load_file_folder(folder, kind, files, images)
        if ignored:
            kinds_ignored = sorted({p.suffix.lower() or p.name for p in ignored})
            dataset.notes.append(
                f"ignored {count_text(len(ignored))} other files ({', '.join(kinds_ignored[:5])})"
            )
        return dataset
    data_files = [p for p in files if kind_of(p) == "file"]
    if len(data_files) == 1:
        return _load_file(data_files[0], target, horizon, layout, reading)
    pair = _split_pair(data_files)
    if pair is not None:
        _refuse_table_options(folder, target, horizon, reading)
        return _load_pair(folder, pair, layout)
    if data_files:
        raise DataError(
            f"'{folder}' holds {len(data_files)} data files; pass one of them "
            f"(e.g. {data_files[0]})."
        )
    kinds_seen = ", ".join(sorted({p.suffix.lower() or "(no extension)" for p in files})[:8])
    raise DataError(
        f"Found no data in '{folder}' (file types: {kinds_seen}); expected class sub-folders of "
        "images, .txt or .wav files, or a table or series file."
    )


def _split_pair(files: list[Path]) -> dict[str, Path] | None:
    """NAME_TRAIN.ts + NAME_TEST.ts (the UCR/UEA archive's layout), any series extension."""
    pair: dict[str, Path] = {}
    for path in files:
        for suffix, split in PAIR_SUFFIXES.items():
            if path.stem.lower().endswith(suffix) and path.suffix.lower() in SERIES_EXTENSIONS:
                pair[split] = path
    if set(pair) == {"train", "test"} and len(files) == 2:
        return pair
    return None


def _load_pair(folder: Path, pair: dict[str, Path], layout: str) -> Dataset:
    parts = {split: _read_series_file(path, layout) for split, path in pair.items()}
    (train, y_train, notes, source), (test, y_test, _, _) = parts["train"], parts["test"]
    if (y_train is None) != (y_test is None):
        raise DataError(f"In '{folder}', one of the train/test files has labels and one has not.")
    widths = {s.shape[1] for s in train + test}
    if len(widths) > 1:
        raise DataError(
            f"In '{folder}', the train and test series have different numbers of features "
            f"({sorted(widths)})."
        )
    y = None if y_train is None else np.concatenate([np.asarray(y_train), np.asarray(y_test)])
    split = np.asarray(["train"] * len(train) + ["test"] * len(test), dtype=object)
    name = pair["train"].stem[: -len("_train")] or folder.name
    label = f"{pair['train'].name} + {pair['test'].name}"
    dataset = _series_dataset(train + test, y, notes, name, label, source, split)
    dataset.evidence += f" ({len(train)} train, {len(test)} test as given)"
    return dataset


def _load_file_folder(
    folder: Path, kind: str, files: list[Path], images: ImageReading | None
) -> Dataset:
    """Images, texts or .wav files, labelled by class folder, maybe in split folders."""
    rel = [p.relative_to(folder).parts for p in files]
    tops = {parts[0] for parts in rel if len(parts) > 1}
    split = None
    if tops and all(t.lower() in SPLIT_FOLDER_NAMES for t in tops) and all(len(r) > 1 for r in rel):
        split = np.asarray([SPLIT_FOLDER_NAMES[r[0].lower()] for r in rel], dtype=object)
        if "train" not in set(split):
            raise DataError(
                f"'{folder}' has {', '.join(sorted(tops))} folders but no train/ folder; "
                "add one or pass a folder of class sub-folders."
            )
        rel = [r[1:] for r in rel]
    nested = [len(r) > 1 for r in rel]
    if any(nested) and not all(nested):
        n_flat = nested.count(False)
        raise DataError(
            f"'{folder}' has {n_flat} {kind} files directly inside it and others in "
            "sub-folders; labelled data needs every file in a class sub-folder (e.g. cats/, "
            "dogs/), unlabelled data needs none."
        )
    labels = [r[0] for r in rel] if all(nested) else None
    source: dict[str, Any] = {"format": f"{kind}_folder"}
    if kind == "image":
        X, kept, notes, source["image"] = read_images(files, reading=images)
        sample_rate = None
    elif kind == "text":
        X, notes = read_texts(files)
        sample_rate, kept = None, list(range(len(X)))
    else:
        X, sample_rate, kept, notes = read_wavs(files)
    files = [files[i] for i in kept]
    y = None if labels is None else as_label_array(np.asarray([labels[i] for i in kept], object))
    if split is not None:
        split = split[kept]
    counts = collections.Counter(p.suffix.lower().lstrip(".").upper() for p in files)
    what = f"{count_text(len(files))} {'/'.join(k for k, _ in counts.most_common())} files"
    if labels is None:
        evidence = f"{what}, no class folders (unlabelled)"
    else:
        evidence = f"{what} in {len(set(labels))} class folders"
    if split is not None:
        shares = collections.Counter(split.tolist())
        evidence += (
            " ("
            + ", ".join(f"{shares[s]} {s}" for s in ("train", "val", "test") if shares[s])
            + " as given)"
        )
    return Dataset(
        modality=kind,  # type: ignore[arg-type]
        X=X,
        y=y,
        name=data_name(folder),
        evidence=evidence,
        notes=notes,
        ids=[str(p.relative_to(folder)) for p in files],
        split=split,
        source=source,
        sample_rate=sample_rate,
    )


def _load_trees(path: Path, files: list[Path]) -> Dataset:
    """Sentences with parse trees: one .txt file, or train/dev/test files of a folder."""
    splits = [SPLIT_FOLDER_NAMES.get(p.stem.lower()) for p in files]
    given = len(files) > 1 and all(splits)
    if given and "train" not in splits:
        raise DataError(
            f"'{path}' has {', '.join(p.name for p in files)} but no train.txt; add one."
        )
    lines, labels, split = [], [], []
    for file, part in zip(files, splits, strict=True):
        trees, roots = read_tree_file(file)
        lines += trees
        labels += roots
        split += [part] * len(trees)
    evidence = f"{count_text(len(lines))} parse trees in {', '.join(p.name for p in files)}"
    if given:
        shares = collections.Counter(split)
        evidence += " (" + ", ".join(
            f"{shares[s]} {s}" for s in ("train", "val", "test") if shares[s]
        )
        evidence += " as given)"
    return Dataset(
        modality="text",
        X=lines,
        y=_tree_labels(labels),
        name=data_name(path) if path.is_dir() else path.stem,
        evidence=evidence,
        ids=[str(i) for i in range(len(lines))],
        split=np.asarray(split, dtype=object) if given else None,
        source={"format": "trees"},
    )


def _tree_labels(labels: list[str]) -> np.ndarray:
    """Whole numbers (the treebank's 0-4) as integers, anything else as text."""
    if all(label.lstrip("-").isdigit() for label in labels):
        return np.asarray([int(label) for label in labels], dtype=np.int64)
    return np.asarray(labels, dtype=object)


def data_name(folder: Path) -> str:
    """A study name for a folder: data/pets -> 'pets'; data/pets/train -> 'pets' too."""
    folder = folder.resolve()
    if folder.name.lower() in SPLIT_FOLDER_NAMES and folder.parent.name:
        return folder.parent.name
    return folder.name


# ----------------------------------------------------------------------------- prediction


def read_forecast_history(
    path: Path, source: dict[str, Any], reading: ReadOptions | None = None
) -> tuple[list[str], list[list[str]], list[np.ndarray], list[str]]:
    """The history of each series to forecast from, read like the training table:
    (ids, times per series, values per series, notes)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(f"A forecaster reads a table file of the series; '{path}' is not one.")
    frame, how = read_table(path, (reading or ReadOptions()).for_prediction(source.get("reading")))
    ids, times, series, dropped = dated_for_prediction(frame, source, path, how)
    return ids, times, series, how.notes + dropped


def dated_for_prediction(
    frame: pd.DataFrame, source: dict[str, Any], path: Path, how: TableReading
) -> tuple[list[str], list[list[str]], list[np.ndarray], list[str]]:
    id_col = source.get("id")
    _need_columns(frame, [c for c in (id_col, source["time"]) if c] + source["columns"], path, how)
    return read_dated(frame, source["time"], source["columns"], id_col)


def read_for_prediction(
    path: Path,
    source: dict[str, Any],
    modality: str,
    image: dict[str, Any] | None = None,
    sample_rate: int | None = None,
    reading: ReadOptions | None = None,
) -> tuple[list[str], Any, list[str]]:
    """New data read the way the training data was (`source` from the bundle); `reading`
    overrides how a table file is read.

    Returns (ids, X, notes); X is in the container `from_memory` would give for that modality.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"The path '{path}' does not exist.")
    fmt = source.get("format", modality)
    if fmt == "trees":  # each line a tree or a plain sentence
        files = (
            [path] if path.is_file() else [p for p in visible_files(path) if kind_of(p) == "text"]
        )
        read = [
            (file, number, line)
            for file in files
            for number, line, _ in tree_file_lines(file, plain=True)
        ]
        if not read:
            raise DataError(f"No sentences in '{path}'; give one tree or sentence per line (.txt).")
        return (
            [f"{file.name}:{number}" for file, number, _ in read],
            [line for *_, line in read],
            [],
        )
    if modality in FOLDER_KINDS and fmt.endswith("_folder"):
        files = (
            [path] if path.is_file() else [p for p in visible_files(path) if kind_of(p) == modality]
        )
        if not files:
            raise DataError(f"No {modality} files found in '{path}'.")
        root = path.parent if path.is_file() else path
        if modality == "image":  # as the training images were: cropped or padded photos
            fit = source.get("image", {}).get("fit", "stretch")
            X, kept, notes, _ = read_images(files, image["size"], image["mode"], fit)
        elif modality == "text":
            X, notes = read_texts(files)
            kept = list(range(len(X)))
        else:
            X, _, kept, notes = read_wavs(files, sample_rate=sample_rate)
        return [str(files[i].relative_to(root)) for i in kept], X, notes
    if path.is_dir():
        raise DataError(f"This model takes a {fmt.replace('_', ' ')} file; '{path}' is a folder.")
    suffix = path.suffix.lower()
    if suffix in SERIES_EXTENSIONS:
        series, _, notes, _ = _read_series_file(path, source.get("layout", "auto"))
        return [str(i) for i in range(len(series))], series, notes
    options = (reading or ReadOptions()).for_prediction(source.get("reading"))
    frame, how = read_table(path, options)
    notes = how.notes
    if fmt == "text_column":
        column = _need_columns(frame, [source["column"]], path, how)[0]
        return (
            [str(i) for i in frame.index],
            frame[column].fillna("").astype(str).tolist(),
            notes,
        )
    if fmt == "wide_table":
        columns = _need_columns(frame, source["columns"], path, how)
        series = series_from_array(numeric_values(frame[columns]))
        return [str(i) for i in frame.index], series, notes
    if fmt == "long_table":
        _need_columns(frame, [source["id"], source["time"], *source["columns"]], path, how)
        series, ids = long_table_series(frame, source["id"], source["time"], source["columns"])
        return ids, series, notes
    if fmt == "dated_table":
        ids, _, series, dropped = dated_for_prediction(frame, source, path, how)
        return ids, series, notes + dropped
    _need_columns(frame, source.get("columns", []), path, how)
    return [str(i) for i in frame.index], frame, notes


def _need_columns(
    frame: pd.DataFrame, columns: list[str], path: Path, how: TableReading
) -> list[str]:
    """The columns the model was trained on; absent ones are named, with how the file was read
    (a wrong separator makes every column absent)."""
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        more = f" and {len(absent) - 8} more" if len(absent) > 8 else ""
        raise DataError(
            f"'{path.name}' lacks {len(absent)} column(s) the model was trained on: "
            f"{', '.join(absent[:8])}{more} (read as {how.describe()}; --sep, --encoding or "
            "--sheet read it another way)."
        )
    return columns
