"""Searches that share a studies dir with each other and with a reader; a seeded search that
repeats itself."""

from __future__ import annotations

import json
import time

import pytest
from sklearn.datasets import load_breast_cancer

import automl
from automl import AutoDeep
from automl.study import leaderboard, list_study_names
from tests.support.search_process import finish, start_fit

pytestmark = pytest.mark.slow


def test_two_searches_and_a_reader_share_one_studies_dir(tmp_path):
    data = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
    studies = tmp_path / "studies"
    args = ("--budget", "2m", "--max-trials", "4", "--max-epochs", "3", "--families", "mlp")
    args += ("--selection", "holdout")  # the sharing is tested, not the scoring: one split
    # no --study: both ask for the data's name at once, and one must become cancer-2
    searches = [start_fit(data, studies, *args) for _ in range(2)]
    reads, errors, seen_rows = 0, [], 0
    try:
        while any(s.poll() is None for s in searches):
            for name in list_study_names(studies):  # what the dashboard does while they run
                try:
                    seen_rows = max(seen_rows, len(leaderboard(studies / name)))
                    reads += 1
                except Exception as exc:  # noqa: BLE001 - counted, then reported below
                    errors.append(repr(exc))
            time.sleep(1.0)  # a dashboard refreshes every few seconds
    finally:
        logs = [finish(s) for s in searches]
    assert [s.returncode for s in searches] == [0, 0], logs
    assert not errors and reads > 5 and seen_rows >= 1
    assert list_study_names(studies) == ["cancer", "cancer-2"]
    for name in ("cancer", "cancer-2"):
        board = leaderboard(studies / name)
        assert len(board) == 4 and set(board["status"]) <= {"complete", "stopped early"}
        assert automl.load(studies / name / "best").config["members"]


def test_a_seeded_sequential_search_repeats_its_trials(ray_local, studies_dir):
    X, y = load_breast_cancer(return_X_y=True)
    runs = []
    for name in ("first", "second"):
        est = AutoDeep(
            budget="2m",
            studies_dir=studies_dir,
            study=name,
            random_state=7,
            families=["mlp"],  # the sampler's and the trainer's seeding is what is tested
            max_trials=5,
            concurrent_trials=1,
            max_epochs=3,
            selection="holdout",  # one network per trial, not five folds
            verbose=False,
        ).fit(X, y)
        board = est.leaderboard().sort_values("trial")
        runs.append(board[["trial", "family", "params", "status", "score"]])
    first, second = runs
    assert len(first) == 5
    assert first.to_dict("records") == second.to_dict("records")
    config = json.loads((studies_dir / "first" / "config.json").read_text())
    assert config["seed"] == 7 and config["options"]["seed"] == 7
    assert (
        config["data"]["fingerprint"]
        == json.loads((studies_dir / "second" / "config.json").read_text())["data"]["fingerprint"]
    )
    assert {"torch", "ray", "optuna", "automl"} <= set(config["versions"])
    settings = config["runs"][0]["settings"]
    assert settings["concurrent_trials"] == 1 and settings["run_max_trials"] == 5
    resolved = config["runs"][0]["search"]
    assert resolved["concurrency"] == 1 and resolved["resources_per_trial"] == {"cpu": 1.0}
