"""Task detection: which row of the decision table the data falls in, and why.

The table itself (`DECISION_TABLE`) names every family the guide prescribes for a row; the
registry (`automl.families`) says which of them are available to search.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import type_of_target

from automl.data import Dataset
from automl.errors import ConfigError, DataError
from automl.task_info import TargetKind, TaskInfo

# A table's whole-number target is a regression target when it has many distinct values with
# few rows each (diabetes: 214 values, ~2 rows each); with at least MIN_ROWS_PER_INTEGER_CLASS
# rows per value it stays classes (40 people x 10 photos). Image labels are always classes.
MIN_DISTINCT_FOR_REGRESSION = 20
MIN_ROWS_PER_INTEGER_CLASS = 10
MIN_ROWS_PER_CLASS = 2  # a stratified validation split needs two examples of every class
MIN_ROWS = 10
MIN_FORECAST_STEPS = 20  # a series to forecast needs room for windows and a validation tail


@dataclass(frozen=True)
class TableRow:
    title: str
    families: tuple[str, ...]  # the first is the default start point


DECISION_TABLE: dict[str, TableRow] = {
    "unsupervised": TableRow("unlabelled: find patterns", ("autoencoder", "rbm")),
    "image_recognition": TableRow("image recognition", ("cnn", "dbn")),
    "text_processing": TableRow("text processing", ("rnn", "text_cnn", "fasttext", "rntn")),
    "speech_recognition": TableRow("speech recognition", ("rnn",)),
    "time_series": TableRow("time series analysis", ("rnn", "conv1d")),
    "classification": TableRow("classification", ("mlp", "dbn")),
    "regression": TableRow("regression", ("mlp", "dbn")),
}
# A forecast searches the time-series row's families (the guide's RNN first) and these, which
# only forecast: their `SUPPORTS` names "forecasting" instead of a row.
FORECASTING_FAMILIES = ("nbeats", "smoothing")
TASK_CHOICES = ("auto", "classification", "regression", "unsupervised")
# The row of labelled data of each modality (tables split by the target's kind).
MODALITY_ROWS = {
    "image": "image_recognition",
    "text": "text_processing",
    "audio": "speech_recognition",
    "series": "time_series",
}


def target_kind_of(y: np.ndarray, modality: str = "table") -> TargetKind:
    """binary / multiclass / regression, by `type_of_target` plus the whole-number rule."""
    if y.dtype == object:
        kind = type_of_target(y.astype(str))
    else:
        values = y.astype(np.float64)
        if np.isnan(values).any():
            raise DataError(
                f"The target has {int(np.isnan(values).sum())} missing values; drop those rows "
                "or fill them in."
            )
        if not np.isfinite(values).all():
            raise DataError(
                "The target has infinite values; drop those rows or replace them with numbers."
            )
        kind = type_of_target(y)
        n_distinct = len(np.unique(y))
        if (
            kind == "multiclass"
            and modality == "table"
            and n_distinct >= MIN_DISTINCT_FOR_REGRESSION
            and len(y) / n_distinct < MIN_ROWS_PER_INTEGER_CLASS
        ):
            kind = "continuous"
    if kind == "binary":
        return "binary"
    if kind == "multiclass":
        return "multiclass"
    if kind == "continuous":
        return "regression"
    raise DataError(
        f"Cannot use this target (sklearn calls it '{kind}'); expected one label per row."
    )


def detect_task(
    dataset: Dataset,
    task: str = "auto",
    families: list[str] | None = None,
    code_size: int | None = None,
) -> TaskInfo:
    """Match the data to a decision-table row and pick the families to search.

    `task` ('auto', 'classification', 'regression', 'unsupervised') and `families` override
    detection; `code_size` fixes the code width of a model of unlabelled data. An override that
    contradicts the data is a ConfigError naming the fix.
    """
    from automl.search_spaces import available_families, get_family

    if task not in TASK_CHOICES:
        raise ConfigError(f"--task must be one of {', '.join(TASK_CHOICES)}; got '{task}'.")
    kind, counts, n_classes = _target(dataset, task)
    row = _row_for(dataset.modality, kind)
    if code_size is not None and kind != "none":
        raise ConfigError(
            "--code-size sets the code width of a model of unlabelled data, but this data is "
            "labelled; drop --code-size or add --task unsupervised."
        )
    if code_size is not None and not (isinstance(code_size, int) and 1 <= code_size <= 4096):
        raise ConfigError(f"--code-size must be an integer from 1 to 4096; got {code_size!r}.")

    prescribed = DECISION_TABLE[row].families
    if dataset.has_trees:
        if kind in ("none", "regression"):
            raise ConfigError(
                f"Parse trees label their nodes with classes; --task {task} cannot use them: "
                "drop --task (or give plain .txt documents)."
            )
        prescribed = ("rntn", *(f for f in prescribed if f != "rntn"))  # the table's RNTN row
    if kind == "forecasting":
        prescribed += FORECASTING_FAMILIES
    if families:
        for name in families:
            family = get_family(name)  # unknown names raise with the list of valid ones
            if row not in family.supports and not (
                kind == "forecasting" and "forecasting" in family.supports
            ):
                raise ConfigError(
                    f"Family '{name}' cannot learn the row '{DECISION_TABLE[row].title}'; "
                    f"it supports {', '.join(sorted(family.supports))}."
                )
            if family.classes_only and kind == "regression":
                raise ConfigError(f"Family '{name}' classifies; this target is numeric.")
        chosen, missing = tuple(families), ()
    else:
        available = {
            name: family
            for name, family in available_families().items()
            if not (family.classes_only and kind == "regression")
        }
        chosen = tuple(f for f in prescribed if f in available)
        missing = tuple(f for f in prescribed if f not in available)
        if not chosen:
            raise ConfigError(f"No family is available for '{DECISION_TABLE[row].title}' yet.")

    reason = _explain(dataset, kind, row, n_classes, chosen, missing, task, families)
    return TaskInfo(
        modality=dataset.modality,
        target_kind=kind,
        row=row,
        families=chosen,
        reason=reason,
        n_samples=len(dataset),
        data_shape=dataset.data_shape,
        n_classes=n_classes,
        class_counts=counts,
        unavailable_families=missing,
        horizon=dataset.horizon,
        labelled=kind not in ("none", "forecasting"),
        code_size=code_size,
        image_content=_image_content(dataset),
    )


def _image_content(dataset: Dataset) -> tuple[int, int] | None:
    """Photos read padded with crop or pad to search: the box their content fills."""
    content = dataset.source.get("image", {}).get("content")
    return None if content is None else (int(content[0]), int(content[1]))


def _target(dataset: Dataset, task: str) -> tuple[TargetKind, dict[str, int], int | None]:
    """The target's kind, class counts and number of classes, checked for what training needs."""
    if dataset.horizon is not None:
        if task != "auto":
            raise ConfigError(
                f"--horizon asks for forecasting, which --task {task} contradicts; drop one."
            )
        steps = sum(len(s) for s in dataset.X)
        if steps < MIN_FORECAST_STEPS + dataset.horizon:
            what = "series has" if len(dataset.X) == 1 else f"{len(dataset.X)} series have"
            raise DataError(
                f"The {what} {steps} steps; forecasting {dataset.horizon} ahead needs at "
                f"least {MIN_FORECAST_STEPS + dataset.horizon}."
            )
        return "forecasting", {}, None
    if len(dataset) < MIN_ROWS:
        raise DataError(f"Only {len(dataset)} samples; at least {MIN_ROWS} are needed.")
    if dataset.y is None or task == "unsupervised":
        if task in ("classification", "regression"):
            raise ConfigError(
                f"--task {task} needs labels, but the data has none; give --target COL (tables) "
                "or class sub-folders, or drop --task."
            )
        return "none", {}, None
    detected = target_kind_of(dataset.y, dataset.modality)
    kind = _apply_task_override(detected, task, dataset)
    if kind == "regression":
        return kind, {}, None
    counts = {str(k): int(v) for k, v in collections.Counter(dataset.y.tolist()).items()}
    if len(counts) < 2:
        raise DataError(
            f"The target has a single class ('{next(iter(counts))}'); classification needs at "
            "least two. Check the target column or add examples of the other classes."
        )
    rare = sorted(k for k, v in counts.items() if v < MIN_ROWS_PER_CLASS)
    if rare:
        raise DataError(
            f"Class {', '.join(repr(r) for r in rare[:5])} has fewer than {MIN_ROWS_PER_CLASS} "
            "examples; add examples or remove that class."
        )
    return kind, counts, len(counts)


def _apply_task_override(detected: TargetKind, task: str, dataset: Dataset) -> TargetKind:
    if task == "auto" or (task == "classification") == (detected != "regression"):
        return detected
    if task == "regression":
        if dataset.modality == "image" or dataset.y.dtype == object:
            raise ConfigError(
                "--task regression needs a numeric target, but the labels are class names "
                "(image sub-folders or text); drop --task or use --task classification."
            )
        return "regression"
    # classification of a numeric target that looked continuous
    return "binary" if len(np.unique(dataset.y)) == 2 else "multiclass"


def _row_for(modality: str, kind: TargetKind) -> str:
    if kind == "none":
        return "unsupervised"
    if modality in MODALITY_ROWS:
        return MODALITY_ROWS[modality]
    return "regression" if kind == "regression" else "classification"


def _explain(
    dataset: Dataset,
    kind: TargetKind,
    row: str,
    n_classes: int | None,
    chosen: tuple[str, ...],
    missing: tuple[str, ...],
    task: str,
    families: list[str] | None,
) -> str:
    target = {
        "none": "no labels",
        "forecasting": f"the next {dataset.horizon} values",
        "regression": "a numeric target",
    }.get(kind, f"{n_classes} classes")
    if dataset.target_name and kind != "none":
        target = f"target '{dataset.target_name}' with {target}"
    why = "--task" if task != "auto" else ("--families" if families else "the decision table")
    title = DECISION_TABLE[row].title
    if dataset.has_trees:
        title += " with parse trees (RNTN first; the others read the words)"
    text = f"{dataset.evidence}; {target} ({kind}) -> {title} -> {', '.join(chosen)} (by {why})"
    if missing:
        text += f"; not yet available: {', '.join(missing)}"
    return text
