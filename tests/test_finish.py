"""The finish on its own: fixed trial records in, the exported model out, on a clock the test
controls (real training on small real data; no search, no Ray)."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import optuna
import pytest
import torch
from sklearn.datasets import load_breast_cancer, load_digits, make_classification

import automl
from automl import finish as finish_module
from automl.budget import Deadline
from automl.data import from_memory
from automl.engine import SearchSettings
from automl.errors import SearchError
from automl.finish import REFIT_MAX_ROWS, finish, scored_trials, train_ensemble
from automl.kept_networks import KEPT_TRIALS, keep_best, kept_trials
from automl.prepare import prepare_data
from automl.search_spaces import get_family
from automl.task import detect_task
from automl.trainer import TrainingConfig, predict_outputs, to_tensors, train_networks
from automl.trial_record import INTERRUPT_STOP, Attr, TrialRecord
from tests.support.clock import FakeClock
from tests.support.series_task import series_task

SETTINGS = SearchSettings(max_epochs=4, patience=4, seed=0)


def record(number, state="COMPLETE", value=0.9, params=None, **attrs) -> TrialRecord:
    return TrialRecord(
        number=number,
        state=state,
        params=params or {},
        value=value if state == "COMPLETE" else None,
        last_score=None if state in ("FAIL", "RUNNING") else value,
        attrs={Attr.BEST_VAL_LOSS: 0.3, **attrs},
    )


@pytest.fixture(scope="module")
def cancer():
    """569 rows: cross-validated (automl.selection)."""
    X, y = load_breast_cancer(return_X_y=True)
    dataset = from_memory(X, y)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


@pytest.fixture(scope="module")
def holdout():
    """The same rows with a given validation split: one split, whatever the size."""
    X, y = load_breast_cancer(return_X_y=True)
    split = np.where(np.arange(len(y)) % 5 == 0, "val", "train").astype(object)
    dataset = dataclasses.replace(from_memory(X, y), split=split)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


def mlp(task, width: int, lr: float = 3e-3) -> dict:
    params = {"family": "mlp", **get_family("mlp").defaults(task)}
    params.update({"mlp.n_layers": 1, "mlp.width_0": width, "mlp.train_lr": lr})
    return params


def test_scored_trials_say_why_there_are_none():
    failed = [
        record(0, "FAIL", fail_reason="RuntimeError: first"),
        record(1, "FAIL", fail_reason="RuntimeError: second"),
    ]
    with pytest.raises(
        SearchError, match="All 2 trials failed; the first because: RuntimeError: first"
    ):
        scored_trials(failed)
    with pytest.raises(SearchError, match="No trial finished an epoch within the budget"):
        scored_trials([record(0, "RUNNING"), record(1, "PRUNED", value=None)])
    cut = record(0, "PRUNED", value=None, stop_reason=INTERRUPT_STOP)
    with pytest.raises(SearchError, match="before the search was interrupted; .* --resume"):
        scored_trials([cut])
    best_first = scored_trials([record(0, value=0.8), record(1, "FAIL"), record(2, value=0.9)])
    assert [r.number for r in best_first] == [2, 0]


def test_the_best_trial_is_trained_even_when_no_time_is_left(cancer, tmp_path):
    """No trial kept its networks (as on a cluster without shared storage): the best is
    trained again, one network per fold, at least one epoch past the deadline."""
    _, prepared = cancer
    task = prepared.task
    clock = FakeClock()
    expired = Deadline(10.0, clock=clock)
    clock.advance(11.0)
    candidates = [record(i, params=mlp(task, 16 * (i + 1)), train_time_s=1.0) for i in range(4)]
    ensemble, members, score, _ = train_ensemble(
        tmp_path, candidates, task, prepared.data, SETTINGS, expired
    )
    assert [m.trial for m in members] == [0] and members[0].retrained
    assert members[0].networks == prepared.selection.folds == len(ensemble.members) == 5
    assert members[0].epochs_trained == 1 and members[0].stop_reason == "deadline"
    assert 0.5 < score <= 1.0


def test_retrained_members_are_the_best_that_fit_in_the_time_left(holdout, tmp_path):
    _, prepared = holdout
    task = prepared.task
    clock = FakeClock()
    deadline = Deadline(100.0, clock=clock)
    candidates = [
        record(0, params=mlp(task, 32), train_time_s=2.0),
        record(1, params=mlp(task, 64), train_time_s=1_000.0),  # too slow for what is left
        *[record(i, params=mlp(task, 16 * i, lr=1e-3 * i), train_time_s=2.0) for i in (2, 3, 4)],
    ]
    _, members, score, _ = train_ensemble(
        tmp_path, candidates, task, prepared.data, SETTINGS, deadline
    )
    trained = [m.trial for m in members]
    assert 1 not in trained and 4 not in trained  # retrained: the best 3 that fit
    assert set(trained) <= {0, 2, 3} and sum(m.weight for m in members) == pytest.approx(1.0)
    for member in members:  # one validation split on small data: refit on every row
        assert member.refit_epochs == max(1, member.best_epoch)
        assert member.params == candidates[member.trial].params
    assert score > 0.9


def test_each_familys_best_is_kept_beside_the_overall_best():
    """The best KEPT_TRIALS trials, then the first of each family not among them: a weaker
    family is a candidate for the ensemble selection, not a second copy of the leader's."""
    ranked = [(n, "rnn") for n in range(KEPT_TRIALS + 2)]
    ranked += [(100, "smoothing"), (101, "smoothing"), (102, "nbeats"), (103, "rnn")]
    numbers = [n for n, _ in kept_trials(ranked, lambda trial: trial[1])]
    assert numbers == [*range(KEPT_TRIALS), 100, 102]
    assert kept_trials([(5, "mlp"), (3, "dbn")], lambda trial: trial[1]) == [(5, "mlp"), (3, "dbn")]


def test_kept_networks_are_exported_without_training_again(cancer, tmp_path):
    """What the trials kept (their fold networks and out-of-fold outputs) is what the finish
    selects from and exports, with no time left to train anything."""
    _, prepared = cancer
    task, data = prepared.task, prepared.data
    candidates = []
    for number, width in enumerate((8, 32, 64)):
        params = mlp(task, width)
        splits = data.splits(task)
        networks = [get_family("mlp").build(params, task) for _ in splits]
        config = TrainingConfig.from_params(params, 3, 3)
        result = train_networks(networks, task, splits, config, seed=number)
        keep_best(tmp_path, number, result)
        candidates.append(
            record(number, value=result.best_score, params=params, train_time_s=1_000.0)
        )
    clock = FakeClock()
    expired = Deadline(1.0, clock=clock)
    clock.advance(2.0)
    ensemble, members, score, outputs = train_ensemble(
        tmp_path, candidates, task, data, SETTINGS, expired
    )
    assert not any(m.retrained for m in members) and members[0].networks == 5
    assert len(ensemble.members) == 5 * len(members)
    # the exported networks give the outputs the selection scored: each row's from its fold
    X, y = to_tensors(data.X_val, data.y_val, task)
    assert score >= max(c.value for c in candidates)
    assert score == pytest.approx(float((outputs.argmax(1) == y).float().mean()))
    everyone = predict_outputs(ensemble, X)
    assert float((everyone.argmax(1) == y).float().mean()) >= score  # the bag saw every row


@pytest.fixture(scope="module")
def large():
    """6 000 rows: one validation split, above what the finish refits (REFIT_MAX_ROWS)."""
    X, y = make_classification(6_000, 12, n_informative=8, random_state=0)
    dataset = from_memory(X, y)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


def _kept_trials(study_dir, prepared, widths) -> list[TrialRecord]:
    """Trials that kept their networks after two epochs, as the search leaves them."""
    task, data = prepared.task, prepared.data
    trials = []
    for number, width in enumerate(widths):
        params = mlp(task, width)
        network = get_family("mlp").build(params, task)
        config = TrainingConfig.from_params(params, 2, 2)
        result = train_networks([network], task, data.splits(task), config, seed=number)
        keep_best(study_dir, number, result)
        trials.append(record(number, value=result.best_score, params=params, train_time_s=2.0))
    return trials


def test_large_data_members_continue_on_half_the_validation_rows(large, tmp_path):
    """Each member continues one pass over the training rows and half the validation rows
    while the time allows, and keeps that only if the other half scores no worse."""
    _, prepared = large
    task, data = prepared.task, prepared.data
    assert data.n_folds == 1 and len(data.X_train) + len(data.X_val) > REFIT_MAX_ROWS
    trials = _kept_trials(tmp_path, prepared, (16, 64))
    X, y = to_tensors(data.X_val, data.y_val, task)
    deadline = Deadline(600.0, clock=FakeClock())  # the clock stands still: time for all
    ensemble, members, score, outputs = train_ensemble(
        tmp_path, trials, task, data, SETTINGS, deadline
    )
    assert not any(m.retrained or m.refit_epochs for m in members)
    assert any(m.continued for m in members)
    # the reported score is the selection's, before any row of validation was trained on
    assert score == pytest.approx(float((outputs.argmax(1) == y).float().mean()))
    assert not torch.equal(predict_outputs(ensemble, X), outputs)

    # no time left: the kept networks are exported as they are
    clock = FakeClock()
    expired = Deadline(1.0, clock=clock)
    clock.advance(2.0)
    ensemble, members, _, outputs = train_ensemble(tmp_path, trials, task, data, SETTINGS, expired)
    assert not any(m.continued for m in members)
    assert torch.allclose(predict_outputs(ensemble, X), outputs, atol=1e-5)


def test_a_members_score_is_its_kept_epochs_own_not_a_stale_record(large, tmp_path):
    """A trial cut by the budget can keep an epoch whose report never reached the study:
    the member's score comes from the outputs it kept."""
    _, prepared = large
    task, data = prepared.task, prepared.data
    kept = _kept_trials(tmp_path, prepared, (32,))[0]
    stale = record(0, value=0.1, params=kept.params, train_time_s=2.0)
    expired = Deadline(0.0, clock=FakeClock())  # the kept networks, exported as they are
    _, members, score, _ = train_ensemble(tmp_path, [stale], task, data, SETTINGS, expired)
    assert members[0].validation_score == pytest.approx(kept.score) and kept.score > 0.5
    assert score == pytest.approx(kept.score)  # one member: the ensemble is that member


def test_a_continuation_that_scores_worse_is_dropped(large, tmp_path, monkeypatch):
    """At a thousand times the member's rate the continued network is worse on the checked
    half: the member is exported as the search kept it."""
    _, prepared = large
    task, data = prepared.task, prepared.data
    trials = _kept_trials(tmp_path, prepared, (32,))
    monkeypatch.setattr(finish_module, "CONTINUE_LR_SHARE", 1_000.0)
    deadline = Deadline(600.0, clock=FakeClock())
    ensemble, members, _, outputs = train_ensemble(tmp_path, trials, task, data, SETTINGS, deadline)
    assert not members[0].continued
    X, _ = to_tensors(data.X_val, data.y_val, task)
    assert torch.allclose(predict_outputs(ensemble, X), outputs, atol=1e-5)


def test_a_smaller_batch_after_out_of_memory_is_the_batch_the_finish_trains_with(cancer, tmp_path):
    _, prepared = cancer
    params = mlp(prepared.task, 32)
    retried = record(0, params=params, oom_retry_batch_size=16)
    _, members, _, _ = train_ensemble(
        tmp_path,
        [retried],
        prepared.task,
        prepared.data,
        SETTINGS,
        Deadline(100.0, clock=FakeClock()),
    )
    assert members[0].params["mlp.train_batch_size"] == 16


def test_finish_exports_the_bundle_and_scores_a_given_test_split(cancer, tmp_path):
    dataset, prepared = cancer
    task = prepared.task
    held_out = dataset.subset(np.arange(len(dataset) - 50, len(dataset)))
    pre = prepared.preprocessing
    test = (pre.transform(held_out.X), pre.target.encode(held_out.y))
    prepared = dataclasses.replace(prepared, test=test)
    candidates = [record(i, params=mlp(task, 32 * (i + 1)), train_time_s=1.0) for i in range(2)]
    made = finish(
        tmp_path, candidates, prepared, SETTINGS, Deadline(100.0, clock=FakeClock()), {}, None
    )
    config = json.loads((tmp_path / "best" / "bundle.json").read_text())
    assert [m["trial"] for m in config["members"]] == [m.trial for m in made.members]
    assert config["validation_score"] == made.validation_score
    assert config["test_score"] == made.test_score and made.n_test == 50
    assert 0.85 < made.test_score <= 1.0
    reloaded = automl.load(tmp_path / "best")
    np.testing.assert_array_equal(reloaded.predict(held_out.X), made.predictor.predict(held_out.X))


def test_an_unlabelled_model_keeps_one_network_and_maps_its_codes(tmp_path):
    images = load_digits().images[:300]
    dataset = from_memory(images)
    prepared = prepare_data(dataset, detect_task(dataset), seed=0)
    task = prepared.task
    base = {"family": "autoencoder", **get_family("autoencoder").defaults(task)}
    candidates = [record(i, value=-0.05 * (i + 1), params=base, train_time_s=1.0) for i in range(3)]
    made = finish(
        tmp_path, candidates, prepared, SETTINGS, Deadline(100.0, clock=FakeClock()), {}, None
    )
    assert len(made.members) == 1
    codes = json.loads((tmp_path / "codes_map.json").read_text())
    assert len(codes["points"]) == len(prepared.data.X_val) and len(codes["axes"]) == 2


def test_records_come_from_the_study_as_the_engine_wrote_them(tmp_path):
    """TrialRecord.from_trial over a real study: what the finish ranks."""
    study = optuna.create_study(direction="maximize")
    for value in (0.7, 0.9):
        t = study.ask()
        t.suggest_categorical("family", ["mlp"])
        t.report(value, 1)
        t.set_user_attr(Attr.BEST_VAL_LOSS, 0.1)
        study.tell(t, value)
    records = [TrialRecord.from_trial(t) for t in study.get_trials()]
    assert [r.number for r in scored_trials(records)] == [1, 0]


class Slow(torch.nn.Module):
    """A network that takes at least `seconds` per call, whatever the machine."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.calls = 0
        self.weight = torch.nn.Parameter(torch.zeros(1))  # where it lives: the CPU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        time.sleep(self.seconds)
        self.calls += 1
        return torch.zeros(len(x), 2)


def test_members_are_exported_while_predicting_the_rows_after_fits_the_time_left():
    """Each member's prediction time is measured before export: the lighter ones are dropped
    when the test split would not be predicted in time, the heaviest always kept."""
    from automl.finish import Candidate, Member, affordable

    def candidate(trial: int) -> Candidate:  # 2 fold networks, 0.1 s a call each
        member = Member(trial, "slow", {}, 0.9, 1, 1, "", 1.0, networks=2)
        return Candidate(member, [Slow(0.1), Slow(0.1)], torch.zeros(40, 2))

    candidates = [candidate(t) for t in range(3)]
    inputs = torch.zeros(40, 3)
    # 160 rows: 10 calls of 16 rows per network, so at least 1.5 x 2 s per member
    kept, seconds = affordable([2, 0, 1], candidates, inputs, 160, Deadline(1e6))
    assert kept == [2, 0, 1] and seconds >= 3 * 3.0
    kept, seconds = affordable([2, 0, 1], candidates, inputs, 160, Deadline(4.0))
    assert kept == [2] and seconds >= 3.0
    assert affordable([2, 0, 1], candidates, inputs, 160, Deadline(0.0))[0] == [2]
    assert affordable([2, 0, 1], candidates, inputs, 0, Deadline(0.0)) == ([2, 0, 1], 0.0)


def test_the_test_split_is_predicted_in_chunks_until_the_deadline():
    from automl.finish import outputs_in_time

    network = torch.nn.Linear(3, 2)
    X = torch.randn(100, 3)
    with_time = outputs_in_time(network, X, Deadline(1e6))
    torch.testing.assert_close(with_time, predict_outputs(network, X))
    assert outputs_in_time(network, X, Deadline(0.0)) is None  # nothing past the budget
    # 0.1 s a call: the first rows end past a 0.05 s deadline, the others are not run
    slow = Slow(0.1)
    assert outputs_in_time(slow, X, Deadline(0.05)) is None and slow.calls == 1
    # 0.2 s for the first 2 rows: at that pace the 98 others take longer than the 2 s left
    slow = Slow(0.2)
    assert outputs_in_time(slow, X, Deadline(2.0)) is None and slow.calls == 1


def test_closed_form_members_of_a_cross_validated_study_are_fitted_on_all_rows():
    """A ridge-head random-kernel member's 5 fold networks become one network fitted on every
    row: its head is scikit-learn's RidgeClassifierCV on all rows' features, its scale the
    folds' mean; a member trained by epochs keeps its folds, and so does one without time:
    1.5x a fold's share of its trial's pretraining (not of its whole training)."""
    from sklearn.linear_model import RidgeClassifierCV

    from automl.engine.settings import SearchData
    from automl.finish import Candidate, Member, fit_on_all_rows
    from automl.search_spaces.conv1d import RIDGE_ALPHAS

    task = series_task(60, 16, classes=3)
    y = np.arange(60) % 3
    X = np.random.default_rng(0).normal(size=(60, 16, 1)).astype(np.float32)
    X[:, :, 0] += np.sin(np.arange(16) * (1 + y[:, None]))  # a frequency per class
    data = SearchData(X, y, X, y, folds=np.arange(60) % 5)
    family = get_family("conv1d")
    minirocket, ridge, trained = family.alternatives(task)  # the two layouts' ridge heads

    def candidate(params: dict, train_s: float = 1.0, pretrain_s: float = 1.0) -> Candidate:
        params = {"family": "conv1d", **params}
        folds = [family.build(params, task) for _ in range(5)]
        for i, fold in enumerate(folds):
            if fold.log_scale is not None:
                fold.log_scale.data.fill_(float(i))  # as if calibrated on its held-out rows
        member = Member(0, "conv1d", params, 0.9, 5, 5, "", train_s, networks=5)
        return Candidate(member, folds, torch.zeros(60, 3), pretrain_s)

    fitted, epochs, late = candidate(ridge), candidate(trained), candidate(ridge, 1.0, 50.0)
    minirockets = candidate(minirocket, train_s=1000.0)  # long epochs: they are not redone
    fit_on_all_rows([fitted, epochs], task, data, Deadline(1e6))
    fit_on_all_rows([minirockets], task, data, Deadline(60.0))
    fit_on_all_rows([late], task, data, Deadline(14.0))  # 1.5 x 50 s / 5 folds = 15 s
    assert len(epochs.networks) == len(late.networks) == 5 and late.member.networks == 5
    assert len(minirockets.networks) == minirockets.member.networks == 1
    (network,) = fitted.networks
    assert fitted.member.networks == 1 and fitted.member.refit_epochs == 0
    assert float(network.log_scale.detach()) == pytest.approx(2.0)  # the mean of 0..4
    features = network.fixed_inputs(torch.from_numpy(X)).double().numpy()
    reference = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(features, y)
    torch.testing.assert_close(network.head.weight.double(), torch.from_numpy(reference.coef_))
    assert np.mean(reference.predict(features) == y) == 1.0  # fitted on these very rows
