"""The whole fit on a clock the test controls: the hard budget as accounting, not as a race
with the machine. Every reading of the clock is half a virtual second, so the same fit spends
the same virtual time on any machine (bench/run.py budget_* measures the wall clock)."""

from __future__ import annotations

import json

from sklearn.datasets import load_breast_cancer

from automl.data import from_memory
from automl.options import FitOptions
from automl.pipeline import fit_dataset
from automl.study import load_records
from automl.study_run import finish_reserve
from automl.trial_record import BUDGET_STOP, Attr
from tests.support.clock import FakeClock


def test_the_fit_keeps_its_budget_on_a_clock_the_test_controls(tmp_path):
    X, y = load_breast_cancer(return_X_y=True)
    options = FitOptions.parse(
        {
            # 569 rows are cross-validated: an epoch is 5 networks' steps, 160 readings
            "budget": "600s",
            "families": "mlp",
            "max_trials": 1,  # in process: every clock reading is the driver's own
            "max_epochs": 200,  # the budget, not the epochs, must end the trial
            "trial_timeout": "600s",  # nor its time cap
            "studies_dir": tmp_path,
            "study": "s",
            "verbose": False,
        }
    )
    clock = FakeClock(tick=0.5)
    started = clock()
    result = fit_dataset(from_memory(X, y), options, started, clock)

    (trial,) = load_records(result.study_dir)
    assert trial.reason == BUDGET_STOP and trial.get(Attr.EPOCHS) >= 1
    config = json.loads((result.study_dir / "config.json").read_text())
    (run,) = config["runs"]
    # the search stopped at its own deadline, leaving the finish its reserve ...
    search_end = 600 - finish_reserve(600, retrains=False)
    assert config["search"]["executor"] == "in_process"
    assert run["search"]["seconds"] <= search_end
    # ... and the finish, which exported the networks the trial kept, kept within it
    (member,) = result.members
    assert member.trial == 0 and member.epochs_trained >= 1 and not member.retrained
    assert member.networks == 5 and member.score_spread is not None
    assert config["wall_time_s"] <= 600 and config["budget_used_s"] <= 600
    assert clock.now - started <= 600
    assert result.validation_score > 0.8
