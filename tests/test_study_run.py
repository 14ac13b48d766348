"""A run of a study on a clock the test controls: the claim, the records, a resume's budget
and trial accounting. No search runs here (the engine is tested on its own)."""

from __future__ import annotations

import json

import optuna
import pytest
from sklearn.datasets import load_breast_cancer

from automl.data import from_memory
from automl.errors import ConfigError, DataError, SearchError
from automl.options import FitOptions
from automl.prepare import prepare_data
from automl.study import open_storage
from automl.study_run import MIN_FINISH_S, StudyRun, finish_reserve
from automl.task import detect_task
from automl.trial_record import Attr
from tests.support.clock import FakeClock


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    dataset = from_memory(X, y)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


def options(tmp_path, **given) -> FitOptions:
    return FitOptions.parse({"studies_dir": tmp_path / "studies", "verbose": False, **given})


def test_a_new_study_is_made_only_once_the_data_is_ready(cancer, tmp_path):
    dataset, prepared = cancer
    clock = FakeClock()
    with StudyRun(options(tmp_path, budget="10m", study="s"), clock(), clock) as run:
        assert not (tmp_path / "studies" / "s").exists()  # nothing yet: the data may be bad
        clock.advance(7.0)  # reading the data counts against the budget
        run.start(dataset, prepared)
        study_dir = tmp_path / "studies" / "s"
        assert (study_dir / "driver.json").is_file()  # claimed
        assert run.deadline.total == 600 and run.deadline.remaining() == 593
        job = run.search_job(prepared)
        assert job.deadline.remaining() == 593 - finish_reserve(600, retrains=False)
        assert finish_reserve(600, retrains=False) < finish_reserve(600)  # no refits
        assert job.settings.run_max_trials is None and job.points is None
        clock.advance(100.0)
    config = json.loads((study_dir / "config.json").read_text())
    assert not (study_dir / "driver.json").exists()  # released
    assert config["budget_s"] == 600 and config["budget_used_s"] == 107
    (record,) = config["runs"]
    assert record["budget_s"] == 600 and not record["resumed"] and record["ended_at"]
    assert config["options"]["seed"] == 0 and config["data"]["fingerprint"] == prepared.fingerprint


def test_the_run_is_recorded_however_it_ends(cancer, tmp_path):
    dataset, prepared = cancer
    with pytest.raises(SearchError, match="no time to search"):
        clock = FakeClock()
        with StudyRun(options(tmp_path, budget="30s"), clock(), clock) as run:
            clock.advance(20.0)  # loading took most of the budget
            run.start(dataset, prepared)
            run.search_job(prepared)
    (study_dir,) = (tmp_path / "studies").iterdir()
    config = json.loads((study_dir / "config.json").read_text())
    assert config["runs"][0]["ended_at"] and config["budget_used_s"] == 20
    assert not (study_dir / "driver.json").exists()


def test_a_name_in_use_is_refused_before_any_work(cancer, tmp_path):
    (tmp_path / "studies" / "taken").mkdir(parents=True)
    with pytest.raises(ConfigError, match="already exists"):
        StudyRun(options(tmp_path, study="taken")).__enter__()


def add_trial(study_dir, state: str, value=None, **attrs) -> None:
    study = optuna.load_study(study_name=study_dir.name, storage=open_storage(study_dir))
    trial = study.ask()
    trial.suggest_categorical("family", ["mlp"])
    for key, attr in attrs.items():
        trial.set_user_attr(key, attr)
    if state != "RUNNING":
        study.tell(trial, value, state=optuna.trial.TrialState[state])


def test_a_resume_spends_what_is_left_and_reruns_what_was_interrupted(cancer, tmp_path):
    dataset, prepared = cancer
    clock = FakeClock()
    with StudyRun(options(tmp_path, budget="5m", study="s", max_trials=10), clock(), clock) as run:
        run.start(dataset, prepared)
        study_dir = run.study_dir
        optuna.create_study(study_name="s", storage=open_storage(study_dir), direction="maximize")
        clock.advance(120.0)
    for value in (0.9, 0.8, 0.7):
        add_trial(study_dir, "COMPLETE", value)
    add_trial(study_dir, "RUNNING", **{Attr.RUN_ID: "killed"})  # params chosen: re-run
    add_trial(study_dir, "RUNNING")  # killed while its parameters were being chosen
    resumed = options(tmp_path, study="s", resume=True, max_trials=10, seed=5)
    clock = FakeClock()
    with StudyRun(resumed, clock(), clock) as run:
        assert run.options.seed == 0  # the study's own, whatever the command says
        run.start(dataset, prepared)
        assert run.spent_before_s == pytest.approx(120.0)
        assert run.deadline.total == pytest.approx(180.0)
        job = run.search_job(prepared)
        assert job.settings.run_max_trials == 7  # 10 in all, 3 kept
        assert job.points == [{"family": "mlp"}]  # the interrupted one whose params were chosen
        assert "resuming: 3 trials kept, 1 interrupted ones to re-run" in run.describe()
    config = json.loads((study_dir / "config.json").read_text())
    assert [r["resumed"] for r in config["runs"]] == [False, True]
    assert config["runs"][1]["budget_s"] == pytest.approx(180.0)


def test_a_resume_checks_the_data_and_what_is_left(cancer, tmp_path):
    dataset, prepared = cancer
    clock = FakeClock()
    with StudyRun(options(tmp_path, budget="1m", study="s"), clock(), clock) as run:
        run.start(dataset, prepared)
        optuna.create_study(study_name="s", storage=open_storage(run.study_dir))
        clock.advance(60.0 - MIN_FINISH_S)  # a search that used all it was given
    other = from_memory(dataset.X[:300], dataset.y[:300])
    with pytest.raises(DataError, match="differs from the data the study 's' searched"):
        with StudyRun(options(tmp_path, study="s", resume=True)) as run:
            run.start(other, prepare_data(other, detect_task(other), seed=0))
    with pytest.raises(SearchError, match="has used 48s of its 60s budget; pass a larger --budget"):
        with StudyRun(options(tmp_path, study="s", resume=True)) as run:
            run.start(dataset, prepared)
            run.search_job(prepared)
    with StudyRun(options(tmp_path, study="s", resume=True, budget="10m")) as run:
        run.start(dataset, prepared)  # a larger total: the study goes on
        assert run.search_job(prepared) is not None
    with pytest.raises(ConfigError, match="There is no study 'nope'"):
        StudyRun(options(tmp_path, study="nope", resume=True)).__enter__()


def test_no_search_when_the_study_has_all_its_trials(cancer, tmp_path):
    dataset, prepared = cancer
    with StudyRun(options(tmp_path, study="s", max_trials=2)) as run:
        run.start(dataset, prepared)
        optuna.create_study(study_name="s", storage=open_storage(run.study_dir))
    for value in (0.9, 0.8):
        add_trial(run.study_dir, "COMPLETE", value)
    with StudyRun(options(tmp_path, study="s", resume=True, max_trials=2)) as run:
        run.start(dataset, prepared)
        assert run.search_job(prepared) is None
