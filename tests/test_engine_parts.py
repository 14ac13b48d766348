"""The engine's parts on their own: how a trial's end is recorded, the time caps, the trial
without Ray, and the in-process executor against the Ray executor on the same one-trial run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from automl.budget import Deadline
from automl.data import from_memory
from automl.engine import SearchJob, SearchSettings, uses_ray
from automl.engine.in_process import run_in_process
from automl.engine.progress import Progress
from automl.engine.ray_executor import run_with_ray
from automl.engine.recorder import TrialEnd, ending, epoch_record
from automl.engine.scheduler import TimeCaps, make_scheduler
from automl.engine.space import TRIAL_NUMBER_KEY
from automl.engine.trial import ERROR_KEY, METRIC, run_trial
from automl.prepare import prepare_data
from automl.search_spaces import get_family
from automl.study import load_records, open_storage, write_config
from automl.task import detect_task
from automl.trial_record import BUDGET_STOP, INTERRUPT_STOP, METRICS_FILE, Attr, trial_dir
from tests.support.clock import FakeClock

EPOCH = {"epoch": 1, METRIC: 0.9, "best_val_loss": 0.2, "finished": False, "seconds": 0.1}


@pytest.mark.parametrize(
    ("history", "end", "expected"),
    [
        ([EPOCH], TrialEnd({**EPOCH, "finished": True}), ("COMPLETE", 0.9, Attr.BEST_VAL_LOSS)),
        ([EPOCH], TrialEnd(EPOCH), ("PRUNED", None, "stopped early by ASHA after epoch 1")),
        ([EPOCH], TrialEnd({}, stopped=BUDGET_STOP), ("PRUNED", None, BUDGET_STOP)),
        ([], TrialEnd({ERROR_KEY: "nan loss", "epoch": 0}), ("FAIL", None, "nan loss")),
        ([EPOCH], TrialEnd({ERROR_KEY: "nan loss"}), ("FAIL", None, "nan loss")),
        ([], TrialEnd({}, crashed=True), ("FAIL", None, "the trial's worker process crashed")),
        ([], TrialEnd({}, timed_out="exceeded its cap"), ("FAIL", None, "exceeded its cap")),
        ([EPOCH], TrialEnd(EPOCH, timed_out="exceeded its cap"), ("PRUNED", None, "exceeded")),
    ],
)
def test_how_a_trial_ended_is_what_optuna_is_told(history, end, expected):
    state, value, attrs = ending(history, end)
    want_state, want_value, words = expected
    assert (state, value) == (want_state, want_value)
    assert any(words in str(v) or words == k for k, v in attrs.items()), attrs


def test_an_epoch_record_reads_nested_and_flattened_extras():
    nested = epoch_record({**EPOCH, "extra": {"pretrain_seconds": 2.0}, "node": "x"})
    flat = epoch_record({**EPOCH, "extra/pretrain_seconds": 2.0, "node": "x"})
    assert nested == flat and nested["extra"] == {"pretrain_seconds": 2.0}
    assert "node" not in nested


def test_time_caps_follow_their_clock():
    clock = FakeClock()
    caps = TimeCaps(5.0, clock)
    assert not caps.over("a")  # its clock starts at the first question
    clock.advance(5.0)
    assert not caps.over("a") and caps.verdict("a") is None
    assert not caps.over("a")
    clock.advance(5.5)
    assert caps.over("a")
    assert caps.verdict("a") == "exceeded its time cap of 5s (--trial-timeout)"
    assert caps.verdict("a") is None  # told once


def test_a_time_cap_counts_from_the_trial_s_start_not_its_worker_s():
    clock = FakeClock()
    caps = TimeCaps(5.0, clock, start_up_s=20.0)
    assert not caps.over("a") and not caps.over("b")  # both workers starting
    clock.advance(12.0)
    # a's worker took 10 s to start: its cap runs from then, and it is not asked again
    assert not caps.over("a", started=lambda: 2.0) and not caps.over("b")
    clock.advance(3.5)
    assert caps.over("a", started=lambda: 99.0)  # 5.5 s since it started
    assert not caps.over("b")  # never said it started: 15.5 s of its 25
    clock.advance(10.0)
    assert caps.over("b")
    assert caps.verdict("b") == "exceeded its time cap of 5s (--trial-timeout)"


class _TuneTrial:
    """What Tune's ASHA reads of a trial: its id and config."""

    def __init__(self, trial_id: str, slow: bool) -> None:
        self.trial_id, self.config = trial_id, {"slow": slow}


def test_asha_judges_a_slow_starting_family_after_its_grace():
    scheduler = make_scheduler(30, TimeCaps(60.0), lambda config: 9 if config["slow"] else 0)
    fast = [_TuneTrial(f"fast{i}", slow=False) for i in range(3)]
    slow, plain = _TuneTrial("slow", slow=True), _TuneTrial("plain", slow=False)
    for trial in [*fast, slow, plain]:
        scheduler.on_trial_add(None, trial)

    def report(trial: _TuneTrial, epoch: int, score: float) -> str:
        return scheduler.on_trial_result(None, trial, {"training_iteration": epoch, METRIC: score})

    for epoch in range(1, 10):
        for i, trial in enumerate(fast):
            assert report(trial, epoch, 0.5 + 0.01 * i) == "CONTINUE"
    # the same weak start: stopped at the first rung (epoch 3) without a grace, kept with one
    assert [report(plain, epoch, 0.3) for epoch in (1, 2, 3)] == ["CONTINUE"] * 2 + ["STOP"]
    assert {report(slow, epoch, 0.3) for epoch in range(1, 9)} == {"CONTINUE"}
    assert report(slow, 9, 0.3) == "STOP"  # judged at the rung after its grace


def test_ray_runs_all_but_one_trial_runs_on_this_machine():
    assert not uses_ray(SearchSettings(run_max_trials=1))
    assert not uses_ray(SearchSettings(run_max_trials=1, concurrent_trials=1))
    assert uses_ray(SearchSettings(run_max_trials=2))
    assert uses_ray(SearchSettings())
    assert uses_ray(SearchSettings(run_max_trials=1, address="auto"))  # a cluster was asked for


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    dataset = from_memory(X, y)
    # one validation split: these tests count the steps of one network per trial
    return prepare_data(dataset, detect_task(dataset, families=["mlp"]), 0, selection="holdout")


def test_a_trial_runs_without_ray_and_reports_through_its_callback(cancer):
    task = cancer.task
    config = {TRIAL_NUMBER_KEY: 0, "family": "mlp", **get_family("mlp").defaults(task)}
    reports: list[dict] = []
    settings = SearchSettings(max_epochs=3)
    families = {"mlp": get_family("mlp")}
    run_trial(config, cancer.data, task, settings, families, reports.append, facts={"node": "n"})
    assert [r["epoch"] for r in reports] == [1, 2, 3] and reports[-1]["finished"]
    assert all(
        r["node"] == "n" and r["device"] == "cpu" and r[Attr.LATENCY_MS] > 0 for r in reports
    )
    # asked to stop, it stops at once, mid-epoch, and says nothing more
    stopped: list[dict] = []
    run_trial(config, cancer.data, task, settings, families, stopped.append, interrupt=lambda: True)
    assert stopped == []
    # a failure is a report with its reason, never an exception
    broken = {**config, "mlp.train_lr": float("nan")}
    failed: list[dict] = []
    run_trial(broken, cancer.data, task, settings, families, failed.append)
    assert failed[-1][ERROR_KEY].startswith("ValueError: Invalid learning rate: nan (adam")


def one_trial_job(study_dir: Path, prepared, clock=None) -> SearchJob:
    write_config(study_dir, {"study_name": study_dir.name})
    deadline = Deadline(120.0) if clock is None else Deadline(120.0, clock=clock)
    settings = SearchSettings(max_epochs=4, seed=3, run_max_trials=1, concurrent_trials=1)
    return SearchJob(study_dir, prepared.task, prepared.data, deadline, settings, "run-1")


def ran(study_dir: Path) -> list:
    """The trials that started; the family's other first points wait for a --resume."""
    return [r for r in load_records(study_dir) if r.state != "WAITING"]


def recorded(study_dir: Path) -> list[tuple]:
    """What the study holds of its trials, but times, memory and where they ran."""
    varying = {
        Attr.WALL_TIME_S, Attr.TRAIN_TIME_S, Attr.NODE, Attr.LATENCY_MS, Attr.PEAK_MEMORY_MB,
        Attr.PLAN,  # its measured step time
    }  # fmt: skip
    rows = []
    for r in load_records(study_dir):
        attrs = {k: v for k, v in r.attrs.items() if k not in varying}
        metrics = json.loads((trial_dir(study_dir, r.number) / METRICS_FILE).read_text())
        scores = [(m["epoch"], m["score"], m["best_score"], m["finished"]) for m in metrics]
        rows.append((r.number, r.state, r.params, r.value, attrs, scores))
    return rows


@pytest.mark.slow
def test_in_process_and_ray_record_a_one_trial_run_the_same(ray_local, cancer, tmp_path):
    in_process = run_in_process(one_trial_job(tmp_path / "a" / "study", cancer))
    with_ray = run_with_ray(one_trial_job(tmp_path / "b" / "study", cancer))
    assert (in_process.executor, with_ray.executor) == ("in_process", "ray")
    assert recorded(tmp_path / "a" / "study") == recorded(tmp_path / "b" / "study")
    first = load_records(tmp_path / "a" / "study")[0]
    assert first.state == "COMPLETE" and first.get(Attr.EPOCHS) == 4
    steps = open_storage(tmp_path / "a" / "study")
    assert steps.get_all_trials(steps.get_study_id_from_name("study"))[0].intermediate_values


def test_in_process_trials_stop_at_the_deadline_of_their_clock(cancer, tmp_path):
    """Each reading of the clock is a virtual second: the trial is stopped by the budget after
    the same number of steps on any machine."""
    clock = FakeClock(tick=1.0)
    job = one_trial_job(tmp_path / "study", cancer, clock)
    job.settings = SearchSettings(max_epochs=1000, patience=1000, trial_timeout_s=1e6)
    figures = run_in_process(job)
    records = ran(tmp_path / "study")
    assert len(records) == 1 and not figures.interrupted  # no second trial after the deadline
    assert records[0].state == "PRUNED" and records[0].reason == BUDGET_STOP
    assert 1 <= records[0].get(Attr.EPOCHS) < 10
    assert 120 <= clock.now - 1000.0 <= 125  # stopped within a step of its deadline


class CtrlCAt(Progress):
    """Ctrl-C pressed as the trial reports epoch `epoch` (KeyboardInterrupt, as SIGINT gives)."""

    def __init__(self, deadline: Deadline, epoch: int) -> None:
        super().__init__(deadline)
        self.epoch, self.seen = epoch, 0

    def on_score(self, score: float, family: str) -> None:
        self.seen += 1
        if self.seen == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_in_process_records_the_trial_and_ends_the_search(cancer, tmp_path):
    """As Tune does for its trials: the first Ctrl-C stops the search, keeps the epochs so
    far, and the fit goes on to its finish."""
    job = one_trial_job(tmp_path / "study", cancer)
    job.settings = SearchSettings(max_epochs=50, patience=50, trial_timeout_s=1e6)
    job.progress = CtrlCAt(job.deadline, epoch=2)
    figures = run_in_process(job)
    (record,) = ran(tmp_path / "study")  # no trial after the interrupted one
    assert figures.interrupted and record.state == "PRUNED"
    assert record.reason == INTERRUPT_STOP and record.get(Attr.EPOCHS) == 2


def test_ctrl_c_while_a_trial_is_being_chosen_is_recorded_too(cancer, tmp_path):
    job = one_trial_job(tmp_path / "study", cancer)

    def choosing(trial):
        raise KeyboardInterrupt

    job.space = lambda: choosing  # pressed while the space suggests the parameters
    figures = run_in_process(job)
    (record,) = load_records(tmp_path / "study")
    assert figures.interrupted and record.state == "PRUNED" and record.reason == INTERRUPT_STOP
