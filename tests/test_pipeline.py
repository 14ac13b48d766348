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
            "budget": "60s",
            "families": "mlp",
            "max_trials": 1,  # in process: every clock reading is the driver's own
            "max_epochs": 200,  # the budget, not the epochs, must end the trial
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
    search_end = 60 - finish_reserve(60)
    assert config["search"]["executor"] == "in_process"
    assert run["search"]["seconds"] <= search_end
    # ... and the finish, which trained the trial to completion, kept within it
    assert result.members[0].trial == 0 and result.members[0].epochs_trained >= 1
    assert config["wall_time_s"] <= 60 and config["budget_used_s"] <= 60
    assert clock.now - started <= 60
    assert result.validation_score > 0.8
