"""How configurations are scored: one validation split, or k-fold cross-validation.

On small data one split is noise: GunPoint's fifth is 10 series, where every top trial ties
at 100 % and the exported model then scores 97 % on the test split. Below CV_MAX_ROWS rows
every trial trains one network per fold, in step, and is scored on the pooled out-of-fold
predictions; each epoch's score is the folds' together, so early stopping and ASHA judge
the cross-validated score. The fold networks are then the exported members (a bag).
"""

from __future__ import annotations

import collections
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

# Up to this many rows (train + validation) a study cross-validates. The standard error of
# an accuracy near 90 % measured on a fifth of 2 000 rows is 1.5 points, about the gap
# between the top trials of a search; above it one split separates them well enough and
# k trainings per trial would cost more than they tell.
CV_MAX_ROWS = 2_000
# Five folds, however few the rows: the pooled out-of-fold score counts every row whatever k
# is, so more folds only add networks to train. Measured on GunPoint (50 series) with ten, the
# FCN default took 101 s, twice five's cost, and ran into its trial's time cap in a 3-minute
# search.
FOLDS = 5


@dataclass(frozen=True)
class Selection:
    """The scheme a study scores its trials by, and why (kept in config.json and the bundle)."""

    scheme: str  # "cv" or "holdout"
    folds: int  # 1 for one validation split
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


HOLDOUT = Selection("holdout", 1, "one validation split")


def choose_selection(
    n_rows: int, task_kind: str, labels: np.ndarray | None, given_val: bool, asked: str = "auto"
) -> Selection:
    """The scheme for `n_rows` training rows (before any split) of a task of `task_kind`;
    `labels`: their classes, for classification; `asked`: cv or holdout forces one where the
    data allows it (--selection)."""
    if asked == "holdout":
        return Selection("holdout", 1, "one validation split, as asked (--selection holdout)")
    if given_val:
        return Selection("holdout", 1, "the validation split was given (a val/ folder or dev file)")
    if task_kind in ("forecasting", "none"):
        why = "forecasts validate on the last steps" if task_kind == "forecasting" else ""
        return Selection("holdout", 1, why or "unlabelled data has no classes to fold by")
    if n_rows > CV_MAX_ROWS and asked != "cv":
        return Selection(
            "holdout", 1, f"{n_rows} rows: one validation fifth is reliable above {CV_MAX_ROWS}"
        )
    k = min(FOLDS, n_rows // 2)  # every fold validates on two rows at least
    if k < 2:
        return Selection("holdout", 1, f"{n_rows} rows: too few to fold")
    if labels is not None:
        smallest = min(collections.Counter(labels.tolist()).values())
        k = min(k, max(2, smallest))
    why = (
        "as asked (--selection cv)"
        if n_rows > CV_MAX_ROWS
        else (f"{n_rows} rows (up to {CV_MAX_ROWS}): one validation split is noise")
    )
    return Selection(
        "cv", k, f"{why}, so each configuration is scored by {k}-fold cross-validation"
    )


def fold_ids(n: int, k: int, labels: np.ndarray | None, seed: int) -> np.ndarray:
    """Each row's fold (0..k-1): stratified by class when every class has k rows."""
    rows = np.zeros(n)
    folds = np.zeros(n, dtype=np.int64)
    if labels is not None and min(collections.Counter(labels.tolist()).values()) >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, labels)
    else:
        splitter = KFold(k, shuffle=True, random_state=seed).split(rows)
    for fold, (_, held_out) in enumerate(splitter):
        folds[held_out] = fold
    return folds
