"""The last stage of a fit: from the ranked trials to the exported model, within the reserve.

The best trials' networks were kept by the trials themselves (automl.kept_networks): one per
fold under cross-validation, the best epoch's. Greedy ensemble selection over their
validation (out-of-fold) outputs weights them (automl.ensemble); a trial whose networks were
not kept (a cluster without shared storage) is trained again, the best few only. On small
data with one validation split, each member is then refit on all rows (a forecast's include
the windows no trial learnt); on larger data it continues from its kept weights on half the
validation rows, checked on the other half, as far as the reserve allows. The ensemble is scored (validation, and a
given test split), written to <study>/best/, and for unlabelled data a map of its codes is
written for the dashboard.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.budget import Deadline
from automl.bundle import load, save_bundle
from automl.engine.cluster import usable_cpus
from automl.engine.settings import SearchData, SearchSettings
from automl.ensemble import Ensemble, bagged_selection, blend, heaviest
from automl.errors import SearchError, TrialFailed
from automl.forecaster import backtest_summary, interval_scale
from automl.kept_networks import kept_trials, load_kept
from automl.model_records import TREES
from automl.predictor import Predictor
from automl.prepare import PreparedData
from automl.search_spaces import get_family
from automl.study import BEST_DIR, CODES_MAP_FILE
from automl.task_info import TaskInfo
from automl.trainer import (
    EVAL_BATCH_SIZE,
    TOO_SLOW,
    TrainingConfig,
    default_device,
    loss_function,
    predict_outputs,
    score_outputs,
    to_tensors,
    train_model,
    train_networks,
)
from automl.trial_record import INTERRUPT_STOP, Attr, TrialRecord, ranked

RETRAINED_TRIALS = 3  # trials whose networks were not kept: the best this many are retrained
FINISH_SAFETY = 1.5  # a trial is retrained only if 1.5x its search-time training time is left
EXPORT_RESERVE_S = 3.0
PROBE_ROWS = 16  # rows a member's prediction time is measured on, before it is exported
FIRST_CHUNK_ROWS = 2  # the given test split's first rows predicted, to time the rest
# Up to this many rows (train + validation), a member validated on one split is retrained on
# all of them for as many epochs as its best validation score took: on small data the
# validation fifth is too much to leave out, on large data it matters little. (Below
# automl.selection.CV_MAX_ROWS the members are fold networks, which together saw every row.)
REFIT_MAX_ROWS = 5_000
# Above it, a member validated on one split continues from its kept weights instead: one pass
# over the training rows and half the validation rows at a tenth of its learning rate, kept
# only if the other half scores no worse. Training it again from scratch would cost its whole
# search time; this costs one pass and adds the validation rows it never saw.
CONTINUE_LR_SHARE = 0.1
CODES_SAMPLE = 1000  # validation samples in the dashboard's map of codes


@dataclass
class Member:
    """One trial of the exported ensemble, as bundle.json's `members` records it."""

    trial: int
    family: str
    params: dict[str, Any]
    validation_score: float
    epochs_trained: int
    best_epoch: int
    stop_reason: str
    train_time_s: float
    weight: float = 1.0  # its share of the blend (ensemble selection)
    networks: int = 1  # one per fold under cross-validation, sharing the weight
    score_spread: float | None = None  # the folds' scores' standard deviation
    retrained: bool = False  # its networks were not kept by the search: trained again
    refit_epochs: int | None = None  # 0: fitted on all rows in closed form (fit_on_all_rows)
    # continued from its kept weights on half the validation rows too (large data)
    continued: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


@dataclass
class Candidate:
    """A trial's networks and their validation outputs, for ensemble selection."""

    member: Member
    networks: list[nn.Module]
    outputs: torch.Tensor
    # its networks' pretraining (fixed features, closed-form heads) in every fold together
    pretrain_time_s: float = 0.0


@dataclass
class FinishedModel:
    """What the finish made: the loaded model and its scores."""

    predictor: Predictor
    members: list[Member]
    validation_score: float
    test_score: float | None = None
    n_test: int = 0
    # the ensemble's raw outputs on the validation rows (out of fold under cross-validation),
    # before any refit saw them, and on the given test rows: what the dashboard's model view
    # draws (automl.model_records)
    validation_outputs: np.ndarray | None = None
    test_outputs: np.ndarray | None = None


def refits(n_folds: int, n_rows: int) -> bool:
    """Whether the finish refits its members on all rows: validated on one split of small
    data (see REFIT_MAX_ROWS)."""
    return n_folds == 1 and n_rows <= REFIT_MAX_ROWS


def scored_trials(records: list[TrialRecord]) -> list[TrialRecord]:
    """Trials that trained at least one epoch, best first (the leaderboard's order).

    Raises SearchError, with the first failure's reason, when there are none.
    """
    scored = [r for r in ranked(records) if r.scored]
    if scored:
        return scored
    failed = [r for r in records if r.state == "FAIL"]
    slow = [r for r in failed if str(r.get(Attr.FAIL_REASON, "")).startswith(TOO_SLOW)]
    if slow:
        raise SearchError(
            f"Every trial was too slow for its time (e.g. {slow[0].get(Attr.FAIL_REASON)}); "
            "give a longer --budget (a trial gets a quarter of the search), a smaller "
            "--image-size, or other --families."
        )
    if failed:
        reason = failed[0].get(Attr.FAIL_REASON, "unknown")
        raise SearchError(
            f"All {len(failed)} trials failed; the first because: {reason}. "
            "Try other --families or check the data."
        )
    if any(r.get(Attr.STOP_REASON) == INTERRUPT_STOP for r in records):
        raise SearchError(
            "No trial finished an epoch before the search was interrupted; nothing to export. "
            "Continue it with --resume (the same --study), or run it again."
        )
    raise SearchError(
        "No trial finished an epoch within the budget; give a longer --budget (e.g. 10m)."
    )


def kept_candidate(
    study_dir: Path, trial: TrialRecord, task: TaskInfo, n_folds: int, n_val: int
) -> Candidate | None:
    """The trial's kept networks, or None when it kept none that fit data of `n_folds` folds
    (1: one split) and `n_val` validation rows."""
    kept = load_kept(study_dir, trial.number)
    if kept is None or len(kept.states) != n_folds:
        return None
    if kept.outputs is not None and len(kept.outputs) != n_val:
        return None
    params = trial.trained_params
    networks = []
    for state in kept.states:
        network = get_family(params["family"]).build(params, task)
        try:
            network.load_state_dict(state)
        except RuntimeError:  # kept by another version of the family: train it again
            return None
        networks.append(network.eval())
    member = Member(
        **_of_trial(trial),
        validation_score=float(trial.score),
        epochs_trained=int(trial.get(Attr.EPOCHS, 0)),
        best_epoch=kept.epoch,
        stop_reason=trial.reason or trial.status,
        train_time_s=float(trial.get(Attr.TRAIN_TIME_S, 0.0)),
        networks=len(networks),
        score_spread=trial.get(Attr.SCORE_SPREAD),
    )
    return Candidate(member, networks, kept.outputs, float(trial.get(Attr.PRETRAIN_TIME_S, 0.0)))


def _of_trial(trial: TrialRecord) -> dict[str, Any]:
    """A member's trial, family and parameters (as it trained: a smaller batch after OOM)."""
    params = trial.trained_params
    return {"trial": trial.number, "family": params["family"], "params": params}


def retrained_candidate(
    trial: TrialRecord,
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
    first: bool,
) -> Candidate:
    """The trial trained again as in the search (same seeds, same folds); the `first` is
    trained at least one epoch even past the deadline."""
    params = trial.trained_params
    torch.manual_seed(settings.seed + trial.number)
    splits = data.splits(task)
    device = default_device()
    networks = [get_family(params["family"]).build(params, task).to(device) for _ in splits]
    result = train_networks(
        networks,
        task,
        splits,
        TrainingConfig.from_params(params, settings.max_epochs, settings.patience),
        deadline=deadline,
        seed=settings.seed + trial.number,
        min_epochs=1 if first else 0,
    )
    if result.best_outputs is None:
        raise TrialFailed("no epoch finished in the time left")
    member = Member(
        **_of_trial(trial),
        validation_score=result.best_score,
        epochs_trained=result.epochs_completed,
        best_epoch=result.best_epoch,
        stop_reason=result.stop_reason,
        train_time_s=result.train_seconds,
        networks=len(networks),
        retrained=True,
    )
    networks = [n.cpu().eval() for n in networks]
    return Candidate(member, networks, result.best_outputs, result.pretrain_seconds)


def gather_candidates(
    study_dir: Path,
    trials: list[TrialRecord],
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
    val_inputs: torch.Tensor,
) -> list[Candidate]:
    """The networks of the best trials and of each family's best (kept_trials): kept ones
    loaded, the best few others retrained while 1.5x their search-time training time fits in
    what is left (the best always). A network kept without its outputs (unlabelled data's) is
    run on `val_inputs`."""
    candidates: list[Candidate] = []
    failures: list[str] = []
    retrained = 0
    # unlabelled data keeps one network: its codes (transform) come from one encoder
    kept = trials[:1] if task.target_kind == "none" else kept_trials(trials, lambda t: t.family)
    for trial in kept:
        candidate = kept_candidate(study_dir, trial, task, data.n_folds, len(data.X_val))
        if candidate is not None and candidate.outputs is None:
            candidate.outputs = predict_outputs(Ensemble(candidate.networks, False), val_inputs)
        if candidate is None and retrained < RETRAINED_TRIALS:
            expected = FINISH_SAFETY * trial.get(Attr.TRAIN_TIME_S, 0.0)
            if candidates and deadline.remaining() < expected:
                continue
            retrained += 1
            try:
                candidate = retrained_candidate(
                    trial, task, data, settings, deadline, first=not candidates
                )
            except (TrialFailed, RuntimeError) as exc:  # out of memory, a divergence: the next
                failures.append(f"trial {trial.number}: {str(exc).splitlines()[0]}")
        if candidate is not None:
            candidates.append(candidate)
    if not candidates:
        raise SearchError(
            "None of the top trials could be trained again for the final model ("
            + "; ".join(failures)
            + "). Check the data, or try other --families."
        )
    return candidates


def train_ensemble(
    study_dir: Path,
    trials: list[TrialRecord],
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
    rows_after: int = 0,
) -> tuple[Ensemble, list[Member], float, torch.Tensor]:
    """The exported ensemble from the ranked trials: (ensemble, members by weight, its
    validation score, its validation outputs before any refit). The time to predict
    `rows_after` rows (the finish's test split, the model view's trees) is left over."""
    torch.set_num_threads(usable_cpus())
    inputs, targets = to_tensors(data.X_val, data.y_val, task)
    candidates = gather_candidates(study_dir, trials, task, data, settings, deadline, inputs)
    if data.n_folds == 1 and task.labelled:
        # each member's score from the outputs it kept: a trial cut by the budget can keep an
        # epoch whose report never reached the study (cross-validated scores stay fold means)
        for candidate in candidates:
            candidate.member.validation_score = score_outputs(task, candidate.outputs, targets)
    criterion = loss_function(task)

    def judge(outputs: torch.Tensor, truth: torch.Tensor) -> tuple[float, float]:
        return score_outputs(task, outputs, truth), -float(criterion(outputs, truth))

    shares = bagged_selection(
        [c.outputs for c in candidates], targets, judge, task.is_classification, settings.seed
    )
    # the heaviest first: members[0] is what the leaderboard line names as the best
    chosen = heaviest(shares, [len(c.networks) for c in candidates])
    if data.n_folds > 1:
        fit_on_all_rows([candidates[i] for i in chosen], task, data, deadline)
    chosen, predicting_s = affordable(chosen, candidates, inputs, rows_after, deadline)
    total = sum(shares[i] for i in chosen)
    members, networks, weights = [], [], []
    for i in chosen:
        candidate = candidates[i]
        candidate.member.weight = round(shares[i] / total, 4)
        members.append(candidate.member)
        networks += candidate.networks
        weights += [shares[i] / total / len(candidate.networks)] * len(candidate.networks)
    outputs = blend(
        torch.stack([candidates[i].outputs for i in chosen]).float(),
        torch.tensor([shares[i] / total for i in chosen]),
        task.is_classification,
    )
    score = score_outputs(task, outputs, targets)
    refit = refits(data.n_folds, len(data.X_train) + len(data.X_val))
    if refit or continues(task, data.n_folds):  # training that would spend the time left
        deadline = deadline.sub(predicting_s)
    if refit:
        networks = refit_on_all_rows(networks, members, task, data, settings, deadline)
    elif continues(task, data.n_folds):
        plans = {t.number: t.get(Attr.PLAN) for t in trials}
        networks = continue_on_more_rows(networks, members, plans, task, data, settings, deadline)
    return Ensemble(networks, task.is_classification, weights), members, score, outputs


def fit_on_all_rows(
    candidates: list[Candidate], task: TaskInfo, data: SearchData, deadline: Deadline
) -> None:
    """Cross-validated members whose networks fit in closed form (a ridge head on fixed
    random-kernel features: their `fit_all_rows` hook) become one network fitted on all rows,
    where 1.5x a fold's share of the trial's pretraining is left: in each fold it computed
    the fixed features of every row (its training and held-out rows) and fitted the head, as
    the fit on all rows does once; the epochs that calibrated the folds' scale are not
    repeated (on ACSF1, MiniRocket's layout: 25.5 s of pretraining in a trial of 27.0 s, so
    the fit is expected to take 7.7 s). Such a fit varies little
    with its rows, so a bag of fits on 4/5 of them each only loses rows: on ACSF1 (100 series,
    10 classes) a bag of 5 scored 83 % on the test split where the same configuration fitted
    on all rows scored 85 %. Their out-of-fold score stays the one reported."""
    X, y = to_tensors(data.X_train, data.y_train, task)  # every row, under cross-validation
    for candidate in candidates:
        member, folds = candidate.member, candidate.networks
        if not callable(getattr(folds[0], "fit_all_rows", None)):
            continue
        all_rows = candidate.pretrain_time_s / len(folds)
        if deadline.remaining() < FINISH_SAFETY * all_rows:
            continue
        network = get_family(member.family).build(member.params, task)
        try:
            fitted = network.fit_all_rows(X, y, folds)
        except RuntimeError:  # out of memory on every row at once: the folds stay
            continue
        if fitted:
            candidate.networks = [network.eval()]
            member.networks, member.refit_epochs = 1, 0


def affordable(
    chosen: list[int],
    candidates: list[Candidate],
    inputs: torch.Tensor,
    rows: int,
    deadline: Deadline,
) -> tuple[list[int], float]:
    """(the chosen candidates, heaviest first, while predicting `rows` rows with them all fits
    in the time left, the heaviest always; the seconds that prediction is expected to take,
    which a refit leaves over). 40 random-kernel networks took 80 s for ACSF1's 100 test
    series of 1 460 steps, past a 5-minute budget, where the first 5 take 10 s."""
    if rows == 0:
        return chosen, 0.0
    kept, cost = [], 0.0
    for i in chosen:
        if kept and cost >= deadline.remaining():  # full already: no time spent measuring
            break
        seconds = predicting_seconds(Ensemble(candidates[i].networks, False), inputs, rows)
        if kept and cost + seconds > deadline.remaining():
            break
        kept.append(i)
        cost += seconds
    return kept, cost


def predicting_seconds(model: nn.Module, inputs: torch.Tensor, rows: int) -> float:
    """FINISH_SAFETY times what `model` would take to predict `rows` rows like `inputs`,
    timed on PROBE_ROWS of them (16 Tree-LSTMs took 2.4 s for SST's 2 210 test trees)."""
    if rows == 0 or len(inputs) == 0:
        return 0.0
    probe = inputs[:PROBE_ROWS]
    started = time.perf_counter()
    predict_outputs(model, probe)
    return FINISH_SAFETY * (time.perf_counter() - started) * rows / len(probe)


def refit_on_all_rows(
    networks: list[torch.nn.Module],
    members: list[Member],
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
) -> list[torch.nn.Module]:
    """Retrain each member on all rows (training, validation and a forecast's refit-only
    windows, see SearchData) for its best number of epochs.

    A member is refit only if that fits in the time left, and a refit cut short by the
    deadline is dropped for the member as first trained. The ensemble's validation score stays
    the one measured before (the refit has seen the validation rows).
    """
    train, val = data.tensors(task)
    everything = data.all_rows(task)
    refit = []
    for model, member in zip(networks, members, strict=True):
        epochs = max(1, member.best_epoch)
        share = epochs / max(1, member.epochs_trained)
        growth = len(everything[0]) / max(1, len(train[0]))
        if deadline.remaining() < FINISH_SAFETY * member.train_time_s * share * growth:
            refit.append(model)
            continue
        torch.manual_seed(settings.seed + member.trial)
        fresh = _trained_in_time(
            get_family(member.family).build(member.params, task),
            member,
            task,
            (everything, val),
            TrainingConfig.from_params(member.params, epochs, patience=epochs + 1),
            settings,
            deadline,
        )
        if fresh is not None:
            member.refit_epochs = epochs
        refit.append(model if fresh is None else fresh)
    return refit


def _trained_in_time(
    network: nn.Module,
    member: Member,
    task: TaskInfo,
    rows: tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    config: TrainingConfig,
    settings: SearchSettings,
    deadline: Deadline,
) -> nn.Module | None:
    """`network` trained for the member on `rows` (train, val) within the deadline, back on
    the CPU; None when it failed (diverged, out of memory on the larger data) or the deadline
    cut it short: the member then stays as it was."""
    try:
        result = train_model(
            network.to(default_device()),
            task,
            *rows,
            config,
            deadline=deadline,
            seed=settings.seed + member.trial,
            keep_best=False,
        )
    except (TrialFailed, RuntimeError):
        return None
    return None if result.stop_reason == "deadline" else network.cpu().eval()


def continues(task: TaskInfo, n_folds: int) -> bool:
    """Whether the finish continues its members on more rows where it does not refit them
    (`refits`: above REFIT_MAX_ROWS): labelled data validated on one split (a forecast's
    validation steps are its last ones, not a sample to halve)."""
    return n_folds == 1 and task.labelled


def continue_on_more_rows(
    networks: list[nn.Module],
    members: list[Member],
    plans: dict[int, dict[str, Any] | None],
    task: TaskInfo,
    data: SearchData,
    settings: SearchSettings,
    deadline: Deadline,
) -> list[nn.Module]:
    """Each member, heaviest first, continued for one pass over the training rows and half
    the validation rows (CONTINUE_LR_SHARE of its rate) while 1.5x that pass fits in the time
    left (the reserve a finish that trains nothing would leave unused); kept only if the other
    half scores no worse (score, then loss). `plans`: the trials' recorded plans, for a
    pass's cost."""
    growth = 1 + len(data.X_val) / 2 / max(1, len(data.X_train))
    costs = [growth * _pass_seconds(member, plans.get(member.trial)) for member in members]
    if deadline.remaining() < FINISH_SAFETY * min(costs):
        return networks  # nothing fits: leave the data untouched (the copy below is its size)
    train, val = data.tensors(task)
    order = torch.randperm(len(val[0]), generator=torch.Generator().manual_seed(settings.seed))
    half = len(order) // 2
    more = tuple(torch.cat([a, b[order[:half]]]) for a, b in zip(train, val, strict=True))
    check = tuple(b[order[half:]] for b in val)
    criterion = loss_function(task)

    def judged(model: nn.Module) -> tuple[float, float]:
        outputs = predict_outputs(model, check[0])
        return score_outputs(task, outputs, check[1]), -float(criterion(outputs, check[1]))

    continued = []
    for model, member, cost in zip(networks, members, costs, strict=True):
        if deadline.remaining() < FINISH_SAFETY * cost:
            continued.append(model)
            continue
        before = judged(model)
        config = TrainingConfig.from_params(member.params, 1, patience=2)
        config = dataclasses.replace(config, lr=config.lr * CONTINUE_LR_SHARE)
        candidate = _trained_in_time(
            copy.deepcopy(model), member, task, (more, check), config, settings, deadline
        )
        if candidate is None or judged(candidate) < before:
            continued.append(model)
            continue
        member.continued = True
        continued.append(candidate)
    return continued


def _pass_seconds(member: Member, plan: dict[str, Any] | None) -> float:
    """What one pass over the training rows cost the member's trial: its plan's steps of a
    full pass at the measured step time, else its training time per epoch."""
    if plan and plan.get("step_s"):
        return plan["step_s"] * plan["full"]
    return member.train_time_s / max(1, member.epochs_trained)


def finish(
    study_dir: Path,
    records: list[TrialRecord],
    prepared: PreparedData,
    settings: SearchSettings,
    deadline: Deadline,
    source: dict[str, Any],
    target_name: str | None,
) -> FinishedModel:
    """Train the exported ensemble within the deadline, write it to <study>/best/, load it."""
    task = prepared.task
    # rows predicted after the ensemble is trained: the test split's, and each split's trees
    # that the model view records (automl.model_records)
    rows_after = 0 if prepared.test is None else len(prepared.test[0])
    if task.tree_leaves is not None:
        rows_after += 2 * TREES
    before_export = deadline.sub(EXPORT_RESERVE_S)
    ensemble, members, score, val_outputs = train_ensemble(
        study_dir, scored_trials(records), task, prepared.data, settings, before_export, rows_after
    )
    extra: dict[str, Any] = {
        "validation_score": score,
        "metric": task.metric,
        "selection": prepared.selection.as_dict(),
    }
    if task.forecast is not None:  # the intervals calibrated on the backtests, then scored
        forecast = prepared.preprocessing.inputs
        quantiles = task.forecast["quantiles"]
        y_val = prepared.data.y_val
        outputs = val_outputs.numpy()
        # the coverage reported is of origins the calibration did not see: half the origins
        # calibrate, the other half are scored; the exported scale uses them all
        forecast.interval_scale = interval_scale(outputs[0::2], y_val[0::2], quantiles)
        calibrated = forecast.calibrated(outputs)
        extra["backtests"] = {
            **backtest_summary(calibrated, y_val, quantiles),
            "coverage": backtest_summary(calibrated[1::2], y_val[1::2], quantiles)["coverage"],
        }
        forecast.interval_scale = interval_scale(outputs, y_val, quantiles)
    test_score, n_test, test_outputs = None, 0, None
    if prepared.test is not None:
        X_test, y_test = to_tensors(*prepared.test, task)
        n_test = len(X_test)
        test_outputs = outputs_in_time(ensemble, X_test, before_export)
        if test_outputs is not None:
            test_score = score_outputs(task, test_outputs, y_test)
        extra.update(test_score=test_score, n_test=n_test)
    bundle_dir = save_bundle(
        study_dir / BEST_DIR,
        ensemble,
        [m.as_dict() for m in members],
        task,
        prepared.preprocessing,
        extra={**extra, "source": source, "target_name": target_name},
    )
    predictor = load(bundle_dir)
    if task.target_kind == "none":  # a model of unlabelled data: it has codes
        write_codes_map(study_dir, predictor, prepared.data.X_val, settings.seed)
    return FinishedModel(
        predictor,
        members,
        score,
        test_score,
        n_test,
        val_outputs.numpy(),
        None if test_outputs is None else test_outputs.numpy(),
    )


def outputs_in_time(model: nn.Module, X: torch.Tensor, deadline: Deadline) -> torch.Tensor | None:
    """`model`'s outputs on `X` in chunks of about a second each, or None as soon as the rows
    left would not be predicted before the deadline at the pace so far: the budget holds, and
    the rows can be predicted after the fit. The first chunk is FIRST_CHUNK_ROWS, so a model
    too slow for the time left is found out in a fraction of a second."""
    chunks, at, size = [], 0, FIRST_CHUNK_ROWS
    while at < len(X):
        if deadline.expired():
            return None
        started = time.perf_counter()
        chunks.append(predict_outputs(model, X[at : at + size]))
        at += size
        took = time.perf_counter() - started
        per_row = took / len(chunks[-1])
        # a pace timed over a tenth of a second at least: a fast call's overhead is no pace
        if took > 0.1 and per_row * (len(X) - at) > deadline.remaining():
            return None
        size = int(min(EVAL_BATCH_SIZE, max(FIRST_CHUNK_ROWS, 1.0 / max(per_row, 1e-6))))
    return torch.cat(chunks) if chunks else torch.empty(0)


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
