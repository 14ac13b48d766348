"""The trial record and the one ranking rule, on real Optuna trials."""

from __future__ import annotations

import math

import optuna
import pytest

from automl.trial_record import Attr, TrialRecord, rank_key, ranked, reason_of

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
