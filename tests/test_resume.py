"""A search killed with SIGKILL resumes from its study; Ctrl-C stops cleanly; a study has one
driver at a time. Real `automl fit` processes, real Ray, the real SQLite study."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

import automl
from automl.driver import group_members
from automl.study import load_trials
from automl.trial_record import Attr
from tests.support.cli import assert_cli_error
from tests.support.search_process import (
    finish,
    start_fit,
    stop_group,
    wait_for_trials,
)

pytestmark = pytest.mark.slow
FINISHED = ("COMPLETE", "PRUNED", "FAIL")
# one validation split: what is tested is the study, not the scoring (5 folds cost 5x); the
# MLP alone: its trials take a fraction of a second here, a DBN's 8-11 s (its pretraining)
HOLDOUT = ("--selection", "holdout", "--families", "mlp")


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(path, index=False)
    return path


def _finished(trials):
    return {t.number: t for t in trials if t.state.name in FINISHED}


def test_a_killed_search_resumes_without_losing_or_repeating_trials(table, tmp_path):
    studies = tmp_path / "studies"
    study_dir = studies / "killed"
    first = start_fit(
        table, studies, "--study", "killed", "--budget", "3m", "--max-epochs", "6", *HOLDOUT
    )
    try:
        # kill the driver alone, mid-search: with trials done and others running
        before = wait_for_trials(
            study_dir,
            lambda ts: len(_finished(ts)) >= 4 and any(t.state.name == "RUNNING" for t in ts),
            first,
        )
        first.send_signal(signal.SIGKILL)
        first.wait()
        killed_at = time.time()
        # what was recorded up to the kill (a trial may have finished since the poll)
        before = load_trials(study_dir)
        done = _finished(before)
        running = [t for t in before if t.state.name == "RUNNING"]
        assert running and len(done) >= 4
        assert group_members(first.pid), "Ray's processes outlive a killed driver"

        n_total = len(before) + 4  # the interrupted ones (2 at most) and new ones
        resumed = start_fit(
            table, studies, "--study", "killed", "--resume", "--max-trials", str(n_total)
        )
        log = finish(resumed)
    finally:
        stop_group(first)
    assert resumed.returncode == 0, log
    assert "resuming:" in log and "interrupted ones to re-run" in log
    assert not group_members(first.pid), "the resume stops what the killed driver left"

    after = load_trials(study_dir)
    by_number = {t.number: t for t in after}
    for number, trial in done.items():  # nothing completed is lost or changed
        kept = by_number[number]
        assert (kept.state, kept.value, kept.params) == (trial.state, trial.value, trial.params)
    assert len(after) > len(before)
    assert not [t for t in after if t.state.name == "RUNNING"]
    # interrupted trials are closed, saying so, and run again with the same parameters
    rerun_params = [t.params for t in after if t.number >= len(before)]
    for trial in running:
        closed = by_number[trial.number]
        assert closed.state.name == "FAIL"
        assert closed.user_attrs["fail_reason"].startswith("interrupted")
        if closed.user_attrs["fail_reason"].endswith("re-run on --resume"):
            assert trial.params in rerun_params
        else:  # killed while its parameters were being chosen
            assert Attr.RUN_ID not in trial.user_attrs
    # no completed architecture was trained twice
    complete = [json.dumps(t.params, sort_keys=True) for t in after if t.state.name == "COMPLETE"]
    assert len(complete) == len(set(complete))
    # only the remaining budget was spent
    config = json.loads((study_dir / "config.json").read_text())
    first_run, second_run = config["runs"]
    spent_first = killed_at - first_run["started_at"]
    assert second_run["resumed"] and second_run["budget_s"] <= 180 - spent_first + 3
    assert config["budget_used_s"] <= 180
    model = automl.load(study_dir / "best")
    frame = pd.read_csv(table)
    assert (model.predict(frame.drop(columns="target")) == frame["target"]).mean() > 0.85


def test_one_driver_per_study_and_ctrl_c_stops_cleanly_keeping_everything(table, tmp_path, capsys):
    studies = tmp_path / "studies"
    study_dir = studies / "stopped"
    search = start_fit(
        table, studies, "--study", "stopped", "--budget", "3m", "--max-epochs", "6", *HOLDOUT
    )
    try:
        wait_for_trials(study_dir, lambda ts: len(_finished(ts)) >= 3, search)
        # while it runs, nobody else may search the same study
        stopped = ("fit", table, "--studies-dir", studies, "--study", "stopped")
        assert_cli_error(capsys, "is being searched by process", *stopped, "--resume")
        assert_cli_error(capsys, "continue it with --resume", *stopped)
        search.send_signal(signal.SIGINT)  # what Ctrl-C sends
        log = finish(search, timeout=90)
    finally:
        stop_group(search)
    assert search.returncode == 0, log
    assert "search interrupted: finishing with the trials so far" in log
    trials = load_trials(study_dir)
    assert len(_finished(trials)) >= 3 and all(t.state.name in FINISHED for t in trials)
    assert automl.load(study_dir / "best").config["members"]
    config = json.loads((study_dir / "config.json").read_text())
    assert config["runs"][0]["ended_at"] - config["runs"][0]["started_at"] < 120
    assert not (study_dir / "driver.json").exists()
    # a resume checks that the data is the one the study searched
    other = tmp_path / "other.csv"
    pd.read_csv(table).head(300).to_csv(other, index=False)
    assert_cli_error(
        capsys,
        "differs from the data",
        *("fit", other, "--studies-dir", studies, "--study", "stopped", "--resume", "--quiet"),
    )
    assert_cli_error(
        capsys,
        "no study 'nothing'",
        *("fit", table, "--studies-dir", studies, "--study", "nothing", "--resume"),
    )
