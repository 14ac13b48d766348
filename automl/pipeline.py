"""The fit pipeline shared by the CLI and AutoDeep: detect, split, preprocess, search, finish.

One Deadline flows down: the search gets what remains minus a reserve, and the finish (training
the top trials to completion, averaging them and exporting) spends the reserve.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from automl import driver
from automl.budget import Deadline, format_seconds
from automl.bundle import Predictor, library_versions, load, save_bundle
from automl.data import Dataset
from automl.engine import (
    SearchData,
    SearchSettings,
    check_address,
    cluster_address,
    make_progress,
    run_search,
    usable_cpus,
)
from automl.ensemble import Ensemble
from automl.errors import ConfigError, DataError, SearchError, TrialFailed
from automl.families import get_family
from automl.preprocessing import Preprocessing, forecast_window
from automl.study import (
    BEST_DIR,
    CODES_MAP_FILE,
    OOM_RETRY_ATTR,
    check_new_study,
    close_interrupted_trials,
    existing_study_dir,
    interrupted,
    load_trials,
    new_study_dir,
    order_trials,
    read_config,
    seconds_spent,
    write_config,
)
from automl.task import TaskInfo, detect_task
from automl.trainer import (
    TrainingConfig,
    predict_outputs,
    score_outputs,
    to_tensors,
    train_model,
)

VALIDATION_SHARE = 0.2
FINISH_SHARE = 0.15  # of the budget, reserved for training the winner and exporting it
MIN_FINISH_S = 12.0
MAX_FINISH_S = 900.0
EXPORT_RESERVE_S = 3.0
MIN_SEARCH_S = 5.0  # less than this left for the search after loading: stop before starting Ray
ENSEMBLE_SIZE = 3  # the exported model averages the top trials (see automl.ensemble)
ENSEMBLE_CANDIDATES = 6  # members are drawn from this many top trials, skipping ones too slow
FINISH_SAFETY = 1.5  # a member is trained only if 1.5x its search-time training time is left
# Up to this many rows (train + validation), each member is retrained on all of them for as
# many epochs as its best validation score took: on small data the validation fifth is too
# much to leave out (GunPoint trains on 50 series), on large data it matters little.
REFIT_MAX_ROWS = 5_000


@dataclass
class FitOptions:
    budget_s: float | None = None  # the study's whole budget; None: 10 minutes, or as recorded
    task: str = "auto"
    families: list[str] | None = None
    seed: int = 0
    studies_dir: Path = Path("studies")
    study: str | None = None
    address: str | None = None
    max_epochs: int = 30
    code_size: int | None = None
    verbose: bool = True
    resume: bool = False  # continue the named study with what is left of its budget
    max_trials: int | None = None  # trials in the whole study; None: as many as the budget allows
    concurrent_trials: int | None = None
    trial_timeout_s: float | None = None
    gpus_per_trial: float | None = None


# What a resumed study keeps from its first run, whatever the resuming command says: the
# search must stay the same search.
RECORDED_OPTIONS = ("task", "families", "seed", "max_epochs", "code_size")
DEFAULT_BUDGET_S = 600.0


@dataclass
class FitResult:
    study_dir: Path
    task: TaskInfo
    predictor: Any  # automl.bundle.Predictor
    search: dict[str, Any]  # the engine's figures: seconds, concurrency, interrupted, trials
    budget_s: float  # this command's budget (a resumed study's: what was left of it)

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
    test: tuple[np.ndarray, np.ndarray | None] | None = None  # rows of a given test/ split
    notes: list[str] = dataclasses.field(default_factory=list)


def finish_reserve(budget_s: float) -> float:
    return float(np.clip(FINISH_SHARE * budget_s, MIN_FINISH_S, MAX_FINISH_S))


def split_rows(dataset: Dataset, task: TaskInfo, seed: int) -> dict[str, np.ndarray]:
    """Row indices of the train, validation and (given) test parts.

    Given split folders are used as they are; without a val/ folder the validation rows come
    from train/. Otherwise the split is random, stratified by class for classification.
    """
    rows = np.arange(len(dataset))
    given = dataset.split if dataset.split is not None else np.full(len(rows), "train", object)
    parts = {name: rows[given == name] for name in ("train", "val", "test")}
    if len(parts["val"]):
        return parts
    train = parts["train"]
    labels = dataset.y[train] if dataset.y is not None and task.labelled else None
    n_val = max(int(round(VALIDATION_SHARE * len(train))), task.n_classes or 1)
    stratify = labels.astype(str) if task.is_classification else None
    if stratify is not None and min(collections.Counter(stratify).values()) < 2:
        stratify = None  # a class with one training example (the rest in a given test/)
    fit_rows, val_rows = train_test_split(
        train, test_size=n_val, random_state=seed, stratify=stratify
    )
    return {"train": np.sort(fit_rows), "val": np.sort(val_rows), "test": parts["test"]}


def data_fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()[:16]


def prepare_data(dataset: Dataset, task: TaskInfo, seed: int) -> PreparedData:
    """Split, fit the preprocessing on the training rows, transform every part."""
    if task.target_kind == "forecasting":
        return _prepare_forecast(dataset, task)
    parts = split_rows(dataset, task, seed)
    preprocessing = Preprocessing.fit(dataset, task, parts["train"])
    X = preprocessing.transform(dataset.X)
    y = preprocessing.target.encode(dataset.y) if task.labelled else None
    spread = value_range(X[parts["train"]])
    if spread is not None and spread[0] == spread[1]:
        raise DataError(
            f"All {len(parts['train'])} training samples are the same (every feature is "
            "constant, e.g. blank images); there is nothing to learn. Check the data."
        )
    notes = []
    if preprocessing.text is not None and not preprocessing.text.bag_of_words:
        cut = preprocessing.text.truncated(dataset.X)
        if cut:
            notes.append(
                f"{cut} documents are longer than {preprocessing.text.max_tokens} tokens "
                "(the 95th percentile of the training documents) and keep their first tokens"
            )

    def part(name: str) -> tuple[np.ndarray, np.ndarray | None]:
        rows = parts[name]
        return X[rows], None if y is None else y[rows]

    return PreparedData(
        task=task.with_inputs(preprocessing.input_shape(), preprocessing.vocab_size, spread),
        preprocessing=preprocessing,
        data=SearchData(*part("train"), *part("val")),
        fingerprint=data_fingerprint(X, *([] if y is None else [y])),
        test=part("test") if len(parts["test"]) else None,
        notes=notes,
    )


def value_range(X: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of real-valued model inputs, padding (NaN) left out; None for token ids."""
    if not np.issubdtype(X.dtype, np.floating) or not np.isfinite(X).any():
        return None
    return float(np.nanmin(X)), float(np.nanmax(X))


def _prepare_forecast(dataset: Dataset, task: TaskInfo) -> PreparedData:
    """Windows in time order: the last VALIDATION_SHARE of them validate, never shuffled.

    The scaler and window length are fitted on the training steps only, and the training
    windows stop `horizon - 1` steps early so no training target is also a validation target.
    """
    values = dataset.X[0]
    window = forecast_window(task.horizon, int((1 - VALIDATION_SHARE) * len(values)))
    n_windows = len(values) - window - task.horizon + 1
    n_val = max(1, int(round(VALIDATION_SHARE * n_windows)))
    n_fit = n_windows - n_val - (task.horizon - 1)
    if n_fit < 2:
        raise DataError(
            f"The series ({len(values)} steps) is too short to forecast {task.horizon} ahead "
            f"from windows of {window}; give a longer series."
        )
    # the scaler sees the steps of the training windows and their targets, nothing later
    train_steps = np.arange(n_fit + window + task.horizon - 1)
    preprocessing = Preprocessing.fit(dataset, task, train_steps, window=window)
    X, y = preprocessing.forecast.windows(values)
    task = dataclasses.replace(task, n_samples=n_fit)
    return PreparedData(
        task=task.with_inputs(preprocessing.input_shape()),
        preprocessing=preprocessing,
        data=SearchData(X[:n_fit], y[:n_fit], X[-n_val:], y[-n_val:]),
        fingerprint=data_fingerprint(values),
    )


def check_options(options: FitOptions) -> None:
    """Reject bad options before any work is done or any study directory is made."""
    if not 0 <= options.seed < 2**32:
        raise ConfigError(f"The seed must be an integer from 0 to 2**32-1; got {options.seed}.")
    positive = {
        "max_epochs (--max-epochs)": options.max_epochs,
        "max_trials (--max-trials)": options.max_trials,
        "concurrent_trials (--concurrent-trials)": options.concurrent_trials,
    }
    for name, value in positive.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ConfigError(f"{name} must be a positive integer; got {value!r}.")
    if options.trial_timeout_s is not None and options.trial_timeout_s <= 0:
        raise ConfigError(
            f"The trial timeout must be a positive duration; got {options.trial_timeout_s!r}."
        )
    gpus = options.gpus_per_trial
    if gpus is not None and not (0 <= gpus <= 1 or (gpus > 1 and float(gpus).is_integer())):
        raise ConfigError(
            f"--gpus-per-trial must be a fraction from 0 to 1 (e.g. 0.25: four trials share a "
            f"GPU) or a whole number of GPUs; got {gpus!r}."
        )
    if options.address:
        check_address(options.address)


def fit_dataset(dataset: Dataset, options: FitOptions, started: float | None = None) -> FitResult:
    """Run the whole search on a loaded dataset; the best model ends up in <study>/best/.

    `started` is when the command began (time.monotonic()): loading the data counts against
    the budget. With `options.resume`, the named study continues: its interrupted trials are
    re-run, and only what is left of its budget is spent.
    """
    started = time.monotonic() if started is None else started
    say = _printer(options.verbose)
    options = dataclasses.replace(options, address=cluster_address(options.address))
    check_options(options)
    studies_dir = Path(options.studies_dir)
    with contextlib.ExitStack() as cleanup:
        config: dict[str, Any] = {}
        if options.resume:
            study_dir = existing_study_dir(studies_dir, options.study)
            driver.claim(study_dir)
            cleanup.callback(driver.release, study_dir)
            config = read_config(study_dir)
            recorded = config.get("options", {})
            options = dataclasses.replace(
                options, **{k: recorded[k] for k in RECORDED_OPTIONS if k in recorded}
            )
        else:
            check_new_study(studies_dir, options.study)
        task = detect_task(dataset, options.task, options.families, options.code_size)
        for note in dataset.notes:
            say(f"note: {note}")
        say(f"task: {task.reason}")
        prepared = prepare_data(dataset, task, options.seed)
        for note in prepared.notes:
            say(f"note: {note}")

        if options.resume:
            _check_same_data(config, prepared, study_dir)
            total_s = options.budget_s or config["budget_s"]
            spent_s = seconds_spent(study_dir, config)
        else:
            study_dir = new_study_dir(studies_dir, options.study, dataset.name)
            driver.claim(study_dir)
            cleanup.callback(driver.release, study_dir)
            total_s = options.budget_s or DEFAULT_BUDGET_S
            spent_s = 0.0
            config = _new_config(study_dir, dataset, options, prepared)
        deadline = Deadline(total_s - spent_s, start=started)
        settings = SearchSettings(
            max_epochs=options.max_epochs,
            seed=options.seed,
            address=options.address,
            max_trials=options.max_trials,
            concurrent_trials=options.concurrent_trials,
            trial_timeout_s=options.trial_timeout_s,
            gpus_per_trial=options.gpus_per_trial,
        )
        run = {
            "run_id": f"{int(time.time())}-{os.getpid()}",
            "started_at": time.time() - (time.monotonic() - started),
            "budget_s": round(deadline.total, 3),
            "resumed": options.resume,
            "settings": dataclasses.asdict(settings),
        }
        config["budget_s"] = total_s
        config.setdefault("runs", []).append(run)

        def end_run() -> None:
            run["ended_at"] = time.time()
            config["budget_used_s"] = round(spent_s + deadline.elapsed(), 3)
            write_config(study_dir, config)

        cleanup.callback(end_run)  # runs before the release: last in, first out
        return _search_and_finish(
            study_dir, config, run, prepared, settings, deadline, dataset, options, spent_s
        )


def _new_config(
    study_dir: Path, dataset: Dataset, options: FitOptions, prepared: PreparedData
) -> dict[str, Any]:
    """What config.json records of a new study: the resolved options, the task, the data's
    description and fingerprint, and the library versions."""
    data = prepared.data
    return {
        "study_name": study_dir.name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seed": options.seed,
        "options": {k: getattr(options, k) for k in RECORDED_OPTIONS},
        "task": prepared.task.to_dict(),
        "data": {
            "name": dataset.name,
            "evidence": dataset.evidence,
            "notes": dataset.notes,
            "n_train": len(data.X_train),
            "n_val": len(data.X_val),
            "n_test": 0 if prepared.test is None else len(prepared.test[0]),
            "source": dataset.source,
            "target_name": dataset.target_name,
            "fingerprint": prepared.fingerprint,
        },
        "versions": {**library_versions(), "ray": importlib.metadata.version("ray")},
    }


def _check_same_data(config: dict[str, Any], prepared: PreparedData, study_dir: Path) -> None:
    recorded = config["data"]["fingerprint"]
    if prepared.fingerprint != recorded:
        raise DataError(
            f"This data differs from the data the study '{study_dir.name}' searched "
            f"(fingerprint {prepared.fingerprint}, recorded {recorded}); resume with the same "
            "data, or leave --resume out to start a new study."
        )


def _search_and_finish(
    study_dir: Path,
    config: dict[str, Any],
    run: dict[str, Any],
    prepared: PreparedData,
    settings: SearchSettings,
    deadline: Deadline,
    dataset: Dataset,
    options: FitOptions,
    spent_s: float,
) -> FitResult:
    say = _printer(options.verbose)
    points = None
    if options.resume:
        points = close_interrupted_trials(study_dir)
        kept = [t for t in load_trials(study_dir) if not interrupted(t)]
        if settings.max_trials is not None:
            settings = dataclasses.replace(settings, max_trials=settings.max_trials - len(kept))
        say(
            f"resuming: {len(kept)} trials kept, {len(points)} interrupted ones to re-run, "
            f"{format_seconds(spent_s)} of the budget used before"
        )
    write_config(study_dir, config)
    say(f"study: {study_dir} | budget {format_seconds(deadline.remaining())} left")
    reserve = finish_reserve(deadline.total)
    if deadline.sub(reserve).remaining() < MIN_SEARCH_S:
        if options.resume:
            raise SearchError(
                f"The study '{study_dir.name}' has used {spent_s:.0f}s of its "
                f"{config['budget_s']:.0f}s budget; pass a larger --budget (the study's total) "
                "to continue it."
            )
        raise SearchError(
            f"Loading and preparing the data took {deadline.elapsed():.0f}s of the "
            f"{deadline.total:.0f}s budget, leaving no time to search; give a longer --budget."
        )
    search: dict[str, Any] = {"seconds": 0.0, "interrupted": False}
    if settings.max_trials is None or settings.max_trials > 0:
        progress = make_progress(deadline) if options.verbose else None
        search = run_search(
            study_dir,
            prepared.task,
            prepared.data,
            deadline.sub(reserve),
            settings,
            progress=progress,
            points=points,
            run_id=run["run_id"],
        )
    run["search"] = search
    if search["interrupted"]:
        say("search interrupted: finishing with the trials so far (Ctrl-C again to abort)")
    trials = load_trials(study_dir)
    ranked = ranked_trials(trials)
    say(
        f"finishing: training up to {ENSEMBLE_SIZE} of the top trials to completion, "
        f"{format_seconds(deadline.remaining())} left"
    )
    predictor = _finish(
        study_dir, ranked, prepared, settings, deadline, dataset.source, dataset.target_name
    )
    config["search"] = {**search, "trials": len(trials)}
    config["wall_time_s"] = round(deadline.elapsed(), 3)
    return FitResult(study_dir, prepared.task, predictor, config["search"], deadline.total)


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


def trial_params(trial: Any) -> dict[str, Any]:
    """A trial's parameters as it trained: with the smaller batch it fell back to after
    running out of memory, if it did."""
    params = dict(trial.params)
    smaller = trial.user_attrs.get(OOM_RETRY_ATTR)
    if smaller:
        params[f"{params['family']}.train_batch_size"] = smaller
    return params


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
    failures: list[str] = []
    # Unlabelled data keeps one network: its codes (transform) come from one encoder.
    size = 1 if task.target_kind == "none" else ENSEMBLE_SIZE
    for trial in ranked[:ENSEMBLE_CANDIDATES]:
        if len(members) == size:
            break
        expected = FINISH_SAFETY * trial.user_attrs.get("train_time_s", 0.0)
        if members and deadline.remaining() < expected:
            continue
        params = trial_params(trial)
        torch.manual_seed(settings.seed + trial.number)
        try:
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
        except (TrialFailed, RuntimeError) as exc:  # out of memory, a divergence: the next one
            failures.append(f"trial {trial.number}: {str(exc).splitlines()[0]}")
            continue
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
                "best_epoch": result.best_epoch,
                "stop_reason": result.stop_reason,
                "train_time_s": result.train_seconds,
            }
        )
    if not members:
        raise SearchError(
            "None of the top trials could be trained again for the final model ("
            + "; ".join(failures)
            + "). Check the data, or try other --families."
        )
    if len(train[0]) + len(val[0]) <= REFIT_MAX_ROWS:
        members = refit_on_all_rows(members, records, task, train, val, settings, deadline)
    return Ensemble(members, task.is_classification), records, best_score


def refit_on_all_rows(
    members: list[Any],
    records: list[dict[str, Any]],
    task: TaskInfo,
    train: tuple[Any, Any],
    val: tuple[Any, Any],
    settings: SearchSettings,
    deadline: Deadline,
) -> list[Any]:
    """Retrain each member on training + validation rows for its best number of epochs.

    A member is refit only if that fits in the time left, and a refit cut short by the
    deadline is dropped for the member as first trained. The ensemble's validation score stays
    the one measured before (the refit has seen the validation rows).
    """
    everything = tuple(torch.cat([a, b]) for a, b in zip(train, val, strict=True))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    refit = []
    for model, record in zip(members, records, strict=True):
        epochs = max(1, record["best_epoch"])
        share = epochs / max(1, record["epochs_trained"])
        growth = len(everything[0]) / max(1, len(train[0]))
        if deadline.remaining() < FINISH_SAFETY * record["train_time_s"] * share * growth:
            refit.append(model)
            continue
        params = record["params"]
        torch.manual_seed(settings.seed + record["trial"])
        fresh = get_family(params["family"]).build(params, task).to(device)
        try:
            result = train_model(
                fresh,
                task,
                everything,
                val,
                TrainingConfig.from_params(params, epochs, patience=epochs + 1),
                deadline=deadline,
                seed=settings.seed + record["trial"],
                keep_best=False,
            )
        except (TrialFailed, RuntimeError):  # e.g. diverged on the larger data: keep the first
            refit.append(model)
            continue
        if result.stop_reason == "deadline":
            refit.append(model)
            continue
        record["refit_epochs"] = epochs
        refit.append(fresh.cpu())
    return refit


def _finish(
    study_dir: Path,
    ranked: list[Any],
    prepared: PreparedData,
    settings: SearchSettings,
    deadline: Deadline,
    source: dict[str, Any],
    target_name: str | None,
) -> Any:
    """Train the exported ensemble within the reserve, write it to <study>/best/, load it."""
    ensemble, records, score = train_ensemble(
        ranked, prepared.task, prepared.data, settings, deadline.sub(EXPORT_RESERVE_S)
    )
    extra: dict[str, Any] = {"validation_score": score, "metric": prepared.task.metric}
    if prepared.test is not None:
        X_test, y_test = to_tensors(*prepared.test, prepared.task)
        extra["test_score"] = score_outputs(
            prepared.task, predict_outputs(ensemble, X_test), y_test
        )
        extra["n_test"] = len(X_test)
    bundle_dir = save_bundle(
        study_dir / BEST_DIR,
        ensemble,
        records,
        prepared.task,
        prepared.preprocessing,
        extra={**extra, "source": source, "target_name": target_name},
    )
    predictor = load(bundle_dir)
    if prepared.task.target_kind == "none":  # a model of unlabelled data: it has codes
        write_codes_map(study_dir, predictor, prepared.data.X_val, settings.seed)
    return predictor


CODES_SAMPLE = 1000  # validation samples in the dashboard's map of codes


def write_codes_map(study_dir: Path, predictor: Predictor, X_val: np.ndarray, seed: int) -> None:
    """A sample of validation codes under the exported model, projected to 2-D (principal
    components), with each sample's anomaly score: the dashboard draws it without torch."""
    rows = np.sort(np.random.default_rng(seed).permutation(len(X_val))[:CODES_SAMPLE])
    inputs = torch.from_numpy(X_val[rows])  # the validation split is preprocessed already
    codes = predictor.codes(inputs).reshape(len(rows), -1).astype(np.float64)
    scores = predictor.reconstruction_errors(inputs)
    centred = codes - codes.mean(axis=0)
    _, spread, axes = np.linalg.svd(centred, full_matrices=False)
    projected = np.zeros((len(rows), 2))
    k = min(2, axes.shape[0])
    projected[:, :k] = centred @ axes[:k].T
    shares = (spread**2 / max(float((spread**2).sum()), 1e-12)).tolist() + [0.0, 0.0]
    points = [
        {"sample": int(r), "x": float(x), "y": float(y), "anomaly_score": float(s)}
        for r, (x, y), s in zip(rows, projected, scores, strict=True)
    ]
    labels = [f"component {i + 1} ({100 * shares[i]:.0f} % of the codes' variance)" for i in (0, 1)]
    (study_dir / CODES_MAP_FILE).write_text(json.dumps({"axes": labels, "points": points}))


def _printer(verbose: bool):
    def say(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return say
