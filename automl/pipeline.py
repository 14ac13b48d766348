"""The fit pipeline shared by the CLI and AutoDeep: detect, split, preprocess, search, finish.

One Deadline flows down: the search gets what remains minus a reserve, and the finish (training
the top trials to completion, averaging them and exporting) spends the reserve.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from automl.budget import Deadline, format_seconds
from automl.bundle import library_versions, load, save_bundle
from automl.data import Dataset
from automl.engine import (
    SearchData,
    SearchSettings,
    check_address,
    make_progress,
    run_search,
    usable_cpus,
)
from automl.ensemble import Ensemble
from automl.errors import ConfigError, SearchError
from automl.families import get_family
from automl.preprocessing import Preprocessing
from automl.study import (
    BEST_DIR,
    load_trials,
    new_study_dir,
    order_trials,
    write_config,
)
from automl.task import TaskInfo, detect_task
from automl.trainer import TrainingConfig, predict_outputs, score_outputs, train_model

VALIDATION_SHARE = 0.2
FINISH_SHARE = 0.15  # of the budget, reserved for training the winner and exporting it
MIN_FINISH_S = 12.0
MAX_FINISH_S = 900.0
EXPORT_RESERVE_S = 3.0
MIN_SEARCH_S = 5.0  # less than this left for the search after loading: stop before starting Ray
ENSEMBLE_SIZE = 3  # the exported model averages the top trials (see automl.ensemble)
ENSEMBLE_CANDIDATES = 6  # members are drawn from this many top trials, skipping ones too slow
FINISH_SAFETY = 1.5  # a member is trained only if 1.5x its search-time training time is left


@dataclass
class FitOptions:
    budget_s: float
    task: str = "auto"
    families: list[str] | None = None
    seed: int = 0
    studies_dir: Path = Path("studies")
    study: str | None = None
    address: str | None = None
    max_epochs: int = 30
    verbose: bool = True


@dataclass
class FitResult:
    study_dir: Path
    task: TaskInfo
    predictor: Any  # automl.bundle.Predictor
    search: dict[str, Any]  # the engine's figures: seconds, concurrency, interrupted, trials

    @property
    def members(self) -> list[dict[str, Any]]:
        """The exported trials, best first: trial number, family, parameters, scores."""
        return self.predictor.config["members"]

    @property
    def validation_score(self) -> float:
        """The exported ensemble's score on the validation split."""
        return self.predictor.config["validation_score"]


@dataclass
class PreparedData:
    task: TaskInfo  # with the model's input shape
    preprocessing: Preprocessing
    data: SearchData
    fingerprint: str


def finish_reserve(budget_s: float) -> float:
    return float(np.clip(FINISH_SHARE * budget_s, MIN_FINISH_S, MAX_FINISH_S))


def split_rows(y: np.ndarray, task: TaskInfo, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation row indices; stratified by class for classification."""
    rows = np.arange(len(y))
    n_val = max(int(round(VALIDATION_SHARE * len(y))), task.n_classes or 1)
    stratify = y.astype(str) if task.is_classification else None
    train, val = train_test_split(rows, test_size=n_val, random_state=seed, stratify=stratify)
    return np.sort(train), np.sort(val)


def data_fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:16]


def prepare_data(dataset: Dataset, task: TaskInfo, seed: int) -> PreparedData:
    """Split (stratified), fit the preprocessing on the training rows, transform both parts."""
    train_rows, val_rows = split_rows(dataset.y, task, seed)
    preprocessing = Preprocessing.fit(dataset, task, train_rows)
    X = preprocessing.transform(dataset.X)
    y = preprocessing.target.encode(dataset.y)
    return PreparedData(
        task=task.with_input_shape(preprocessing.input_shape()),
        preprocessing=preprocessing,
        data=SearchData(X[train_rows], y[train_rows], X[val_rows], y[val_rows]),
        fingerprint=data_fingerprint(X, y),
    )


def check_options(options: FitOptions) -> None:
    """Reject bad options before any work is done or any study directory is made."""
    if not 0 <= options.seed < 2**32:
        raise ConfigError(f"The seed must be an integer from 0 to 2**32-1; got {options.seed}.")
    if not isinstance(options.max_epochs, int) or options.max_epochs < 1:
        raise ConfigError(
            f"max_epochs (--max-epochs) must be a positive integer; got {options.max_epochs!r}."
        )
    if options.address:
        check_address(options.address)


def fit_dataset(dataset: Dataset, options: FitOptions, deadline: Deadline) -> FitResult:
    """Run the whole search on a loaded dataset; the best model ends up in <study>/best/."""
    say = _printer(options.verbose)
    check_options(options)
    study_dir = new_study_dir(Path(options.studies_dir), options.study, dataset.name)
    task = detect_task(dataset, options.task, options.families)
    for note in dataset.notes:
        say(f"note: {note}")
    say(f"task: {task.reason}")

    prepared = prepare_data(dataset, task, options.seed)
    task, data = prepared.task, prepared.data
    settings = SearchSettings(
        max_epochs=options.max_epochs, seed=options.seed, address=options.address
    )
    config = {
        "study_name": study_dir.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "budget_s": options.budget_s,
        "seed": options.seed,
        "settings": dataclasses.asdict(settings),
        "task": task.to_dict(),
        "data": {
            "name": dataset.name,
            "evidence": dataset.evidence,
            "notes": dataset.notes,
            "n_train": len(data.y_train),
            "n_val": len(data.y_val),
            "fingerprint": prepared.fingerprint,
        },
        "versions": library_versions(),
    }
    write_config(study_dir, config)
    say(f"study: {study_dir} | budget {format_seconds(deadline.remaining())} left")
    reserve = finish_reserve(options.budget_s)
    if deadline.sub(reserve).remaining() < MIN_SEARCH_S:
        raise SearchError(
            f"Loading and preparing the data took {deadline.elapsed():.0f}s of the "
            f"{options.budget_s:.0f}s budget, leaving no time to search; give a longer --budget."
        )
    progress = make_progress(deadline) if options.verbose else None
    search = run_search(study_dir, task, data, deadline.sub(reserve), settings, progress=progress)
    if search["interrupted"]:
        say("search interrupted: finishing with the trials so far (Ctrl-C again to abort)")
    trials = load_trials(study_dir)
    ranked = ranked_trials(trials)
    say(
        f"finishing: training up to {ENSEMBLE_SIZE} of the top trials to completion, "
        f"{format_seconds(deadline.remaining())} left"
    )
    predictor = _finish(study_dir, ranked, prepared, settings, deadline)
    config["search"] = {**search, "trials": len(trials)}
    config["wall_time_s"] = round(deadline.elapsed(), 3)
    write_config(study_dir, config)
    return FitResult(study_dir, task, predictor, config["search"])


def ranked_trials(trials: list[Any]) -> list[Any]:
    """Trials that trained at least one epoch, best first (the leaderboard's order).

    Raises SearchError, with the first failure's reason, when there are none.
    """
    ranked = [
        t
        for t in order_trials(trials)
        if t.state.name == "COMPLETE" or (t.state.name == "PRUNED" and t.intermediate_values)
    ]
    if ranked:
        return ranked
    failed = [t for t in trials if t.state.name == "FAIL"]
    if failed:
        reason = failed[0].user_attrs.get("fail_reason", "unknown")
        raise SearchError(
            f"All {len(failed)} trials failed; the first because: {reason}. "
            "Try other --families or check the data."
        )
    raise SearchError(
        "No trial finished an epoch within the budget; give a longer --budget (e.g. 10m)."
    )


def train_ensemble(
    ranked: list[Any],
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
) -> tuple[Any, list[dict[str, Any]], float]:
    """Train the top trials to completion (same seeds as in the search) and average them.

    The best trial is always trained (at least one epoch, even past the deadline). Further
    members come from the next best trials: one is trained only if its search-time training
    time fits in what remains (a slower one is skipped for a faster one further down), and kept
    only if the average does not score worse on validation. Returns (ensemble, members, score).
    """
    torch.set_num_threads(usable_cpus())
    device = "cuda" if torch.cuda.is_available() else "cpu"
    train, val = data.tensors(task)
    members: list[Any] = []
    records: list[dict[str, Any]] = []
    best_score = -float("inf")
    for trial in ranked[:ENSEMBLE_CANDIDATES]:
        if len(members) == ENSEMBLE_SIZE:
            break
        expected = FINISH_SAFETY * trial.user_attrs.get("train_time_s", 0.0)
        if members and deadline.remaining() < expected:
            continue
        params = dict(trial.params)
        torch.manual_seed(settings.seed + trial.number)
        model = get_family(params["family"]).build(params, task).to(device)
        result = train_model(
            model,
            task,
            train,
            val,
            TrainingConfig.from_params(params, settings.max_epochs, settings.patience),
            deadline=deadline,
            seed=settings.seed + trial.number,
            min_epochs=0 if members else 1,
        )
        candidate = Ensemble([*members, model.cpu()], task.is_classification)
        score = score_outputs(task, predict_outputs(candidate, val[0]), val[1])
        if members and score < best_score:
            continue  # this member would make the average worse on validation
        members.append(model)
        best_score = score
        records.append(
            {
                "trial": trial.number,
                "family": params["family"],
                "params": params,
                "validation_score": result.best_score,
                "epochs_trained": result.epochs_completed,
                "stop_reason": result.stop_reason,
            }
        )
    return Ensemble(members, task.is_classification), records, best_score


def _finish(
    study_dir: Path,
    ranked: list[Any],
    prepared: PreparedData,
    settings: SearchSettings,
    deadline: Deadline,
) -> Any:
    """Train the exported ensemble within the reserve, write it to <study>/best/, load it."""
    ensemble, records, score = train_ensemble(
        ranked, prepared.task, prepared.data, settings, deadline.sub(EXPORT_RESERVE_S)
    )
    bundle_dir = save_bundle(
        study_dir / BEST_DIR,
        ensemble,
        records,
        prepared.task,
        prepared.preprocessing,
        extra={"validation_score": score, "metric": prepared.task.metric},
    )
    return load(bundle_dir)


def _printer(verbose: bool):
    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return say
