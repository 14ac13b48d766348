"""The trial record and the one ranking rule, on real Optuna trials."""

from __future__ import annotations

import math

import optuna
import pytest

from automl.engine.recorder import TrialEnd, ending
from automl.engine.trial import ERROR_KEY
from automl.trial_record import BUDGET_STOP, Attr, TrialRecord, rank_key, ranked, reason_of

INT = optuna.distributions.IntDistribution(16, 256)
FAMILY = optuna.distributions.CategoricalDistribution(["mlp", "dbn"])


def trial(number, state, value=None, scores=(), **attrs) -> TrialRecord:
    frozen = optuna.trial.create_trial(
        state=optuna.trial.TrialState[state],
        value=value,
        params={"family": "mlp", "mlp.width_0": 64, "mlp.train_batch_size": 64},
        distributions={"family": FAMILY, "mlp.width_0": INT, "mlp.train_batch_size": INT},
        user_attrs={Attr.FAMILY: "mlp", **attrs},
        intermediate_values=dict(enumerate(scores, start=1)),
    )
    frozen.number = number
    return TrialRecord.from_trial(frozen)


def test_the_ranking_rule():
    records = [
        trial(0, "COMPLETE", 0.90, [0.8, 0.9], best_val_loss=0.3),
        trial(1, "COMPLETE", 0.95, [0.95], best_val_loss=0.4),
        trial(2, "COMPLETE", 0.95, [0.95], best_val_loss=0.2),  # same score, lower loss: first
        trial(3, "PRUNED", None, [0.97]),  # a better last score, but stopped early
        trial(4, "FAIL", None, [], fail_reason="RuntimeError: boom"),
        trial(5, "PRUNED", None, [0.5, 0.6]),
        trial(6, "COMPLETE", 0.95, [0.95], best_val_loss=0.2),  # a full tie: the lower number
        trial(7, "RUNNING", None, []),
    ]
    assert [r.number for r in ranked(records)] == [2, 6, 1, 0, 3, 5, 4, 7]
    assert [r.scored for r in records] == [True, True, True, True, False, True, True, False]
    # missing or NaN scores rank last among their kind, never first
    assert rank_key(False, math.nan, None, 9) > rank_key(False, 0.1, None, 10)
    assert rank_key(True, 0.5, None, 1) > rank_key(True, 0.5, 0.9, 2)


def test_a_trial_the_clock_cut_short_ranks_with_the_complete_ones():
    """The best validation score of a search may belong to a trial its time cap or the
    budget stopped: it competes with its best epoch; one ASHA stopped does not."""
    cut = {Attr.CUT_SHORT: True, Attr.STOP_REASON: "exceeded its time cap of 1m00s"}
    records = [
        trial(0, "COMPLETE", 0.969, [0.969], best_val_loss=0.1),
        trial(1, "PRUNED", None, [0.95, 0.979], best_val_loss=0.2, **cut),
        trial(2, "PRUNED", None, [0.99]),  # stopped by ASHA: after every competing trial
    ]
    assert [r.number for r in ranked(records)] == [1, 0, 2]
    assert [r.competes for r in records] == [True, True, False]


def test_the_recorder_marks_trials_the_clock_cut_short():
    history = [{"epoch": 1, "best_score": 0.9, "best_val_loss": 0.3, "extra": {}}]
    state, value, attrs = ending(history, TrialEnd({}, timed_out="exceeded its time cap"))
    assert (state, value) == ("PRUNED", None) and attrs[Attr.CUT_SHORT]
    state, _, attrs = ending(history, TrialEnd({}, stopped=BUDGET_STOP))
    assert state == "PRUNED" and attrs[Attr.CUT_SHORT] and attrs[Attr.BEST_VAL_LOSS] == 0.3
    _, _, attrs = ending(history, TrialEnd({"epoch": 1}))  # ASHA's stop: no end given
    assert Attr.CUT_SHORT not in attrs and "ASHA" in attrs[Attr.STOP_REASON]
    state, _, attrs = ending([], TrialEnd({}, timed_out="exceeded its time cap"))
    assert state == "FAIL" and Attr.CUT_SHORT not in attrs  # nothing trained: nothing competes


def test_a_record_reads_what_the_engine_wrote():
    record = trial(
        3,
        "PRUNED",
        None,
        [0.7, 0.8],
        stop_reason="stopped early by ASHA after epoch 2",
        oom_retry_batch_size=32,
    )
    assert record.family == "mlp" and record.status == "stopped early"
    assert record.score == pytest.approx(0.8) and not record.complete
    assert record.reason == (
        "stopped early by ASHA after epoch 2; out of memory: retried at batch size 32"
    )
    assert record.trained_params["mlp.train_batch_size"] == 32  # as it trained
    assert record.params["mlp.train_batch_size"] == 64  # as it was suggested
    interrupted = trial(4, "FAIL", fail_reason="interrupted: the search process stopped")
    assert interrupted.interrupted and not record.interrupted
    assert reason_of({}) == ""


def test_a_network_too_slow_for_its_time_is_followed_by_its_family_s_smallest_once(tmp_path):
    """The failure is recorded, and the family's smallest configuration is enqueued in the
    study (real Optuna storage), once: a second slow failure does not queue it again."""
    from automl.engine.recorder import TrialRecorder
    from automl.study import open_storage

    study = optuna.create_study(
        storage=open_storage(tmp_path), study_name=tmp_path.name, direction="maximize"
    )
    smallest = {"family": "cnn", "cnn.n_blocks": 1, "cnn.channels_0": 8}
    recorder = TrialRecorder(tmp_path, {"cnn": smallest})
    slow = {ERROR_KEY: "too slow for the 60s a trial has: a step takes 3.10s ..."}

    def fail_slowly() -> optuna.trial.FrozenTrial:
        ot_trial = study.ask()
        ot_trial.suggest_categorical("family", ["cnn"])
        recorder.close(ot_trial.number, study, ot_trial, TrialEnd(slow))
        return study.trials[ot_trial.number]

    first = fail_slowly()
    assert first.state.name == "FAIL"
    assert (
        first.user_attrs[Attr.FAIL_REASON]
        == slow[ERROR_KEY] + "; the smallest cnn is queued to run next"
    )
    queued = [t for t in study.trials if t.state.name == "WAITING"]
    assert len(queued) == 1 and queued[0].system_attrs["fixed_params"] == smallest
    second = fail_slowly()  # the smallest itself, too slow as well: nothing more is queued
    assert second.number == queued[0].number
    assert second.user_attrs[Attr.FAIL_REASON] == slow[ERROR_KEY]
    assert not [t for t in study.trials if t.state.name == "WAITING"]
