"""A trial's best networks, kept in trials/<n>/best.pt, so the finish need not train them again.

A trial writes its networks (one per fold) and their validation outputs whenever an epoch is
its best yet: a trial stopped early (by ASHA, its cap, the budget) keeps its best epoch's.
Outputs and weights are one file, replaced whole, so they always belong together. Only the
best KEPT_TRIALS trials of a run and each family's best keep theirs (the driver removes the
rest as trials end): they are the finish's candidates. A trial on a machine that cannot reach
the study directory (a cluster without shared storage) keeps nothing, and the finish trains it
again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch

from automl.trainer import TrainResult
from automl.trial_record import trial_dir

KEPT_FILE = "best.pt"
KEPT_TRIALS = 16
T = TypeVar("T")


def kept_trials(ranked: list[T], family: Callable[[T], str | None]) -> list[T]:
    """Of trials ranked best first: the best KEPT_TRIALS and the best of each other family. A
    weaker family errs differently from the leader's copies; whether that helps is the
    ensemble selection's call (Caruana et al. 2004 select from a diverse library)."""
    kept = ranked[:KEPT_TRIALS]
    seen = {family(trial) for trial in kept}
    for trial in ranked[KEPT_TRIALS:]:
        if family(trial) not in seen:
            kept.append(trial)
            seen.add(family(trial))
    return kept


@dataclass
class KeptNetworks:
    states: list[dict[str, torch.Tensor]]  # one per fold
    outputs: torch.Tensor | None  # validation (out-of-fold) outputs, in the rows' order
    epoch: int


def keep_best(study_dir: Path, number: int, result: TrainResult, outputs: bool = True) -> None:
    """Write the trial's best epoch so far; nothing when the study is not on this machine.
    `outputs=False` leaves the validation outputs out (a reconstruction of every validation
    image is larger than most networks)."""
    if not Path(study_dir).is_dir():
        return
    directory = trial_dir(study_dir, number)
    directory.mkdir(parents=True, exist_ok=True)
    partial = directory / f".{KEPT_FILE}.{os.getpid()}"
    payload = {
        "states": result.best_states,
        "outputs": result.best_outputs if outputs else None,
        "epoch": result.best_epoch,
    }
    torch.save(payload, partial)
    partial.replace(directory / KEPT_FILE)


def load_kept(study_dir: Path, number: int) -> KeptNetworks | None:
    path = trial_dir(study_dir, number) / KEPT_FILE
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError):  # absent, or a damaged file: train it again
        return None
    return KeptNetworks(payload["states"], payload["outputs"], int(payload["epoch"]))


def forget(study_dir: Path, number: int) -> None:
    (trial_dir(study_dir, number) / KEPT_FILE).unlink(missing_ok=True)
