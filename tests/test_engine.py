"""Real searches: local Ray, Optuna's SQLite study, torch training on small real data."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer

import automl
from automl import AutoDeep
from automl.errors import SearchError

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits_search(ray_local, tmp_path_factory, digits_images):
    """One short search on 600 digits images, shared by the checks below."""
    images, labels = digits_images
    studies = tmp_path_factory.mktemp("studies")
    est = AutoDeep(
        budget="3m",  # 6 trials end it
        studies_dir=studies,
        study="digits",
        random_state=0,
        max_epochs=6,
        max_trials=6,
    )
    est.fit(images[:600], labels[:600])
    return est, images[600:800], labels[600:800]


def test_search_stores_the_study_and_exports_a_bundle(digits_search):
    est, X_test, y_test = digits_search
    study_dir = est.study_dir_
    assert {p.name for p in study_dir.iterdir()} >= {"study.db", "config.json", "trials", "best"}
    study = optuna.load_study(study_name="digits", storage=f"sqlite:///{study_dir / 'study.db'}")
    trials = study.get_trials()
    assert len(trials) >= 4
    first = trials[0]
    assert first.params["family"] == "cnn" and first.params["cnn.n_blocks"] == 2  # defaults first
    for t in trials:
        assert t.user_attrs["family"] == t.params["family"]
        assert t.user_attrs["n_params"] > 0
        assert t.state.name in ("COMPLETE", "PRUNED", "FAIL")
        if t.state.name == "FAIL":  # a real divergence, e.g. SGD at a high rate without BN
            assert t.user_attrs["fail_reason"]
        assert t.user_attrs["wall_time_s"] >= 0
        if t.state.name == "PRUNED":  # by ASHA, or cut by the budget (then maybe 0 epochs)
            reason = t.user_attrs["stop_reason"]
            assert reason.startswith("stopped early by ASHA after epoch") or (
                reason == "stopped by the time budget"
            ), reason
            if t.user_attrs["epochs_completed"] == 0:
                assert reason == "stopped by the time budget"
        summary = json.loads((study_dir / "trials" / str(t.number) / "summary.json").read_text())
        assert summary["n_params"] == t.user_attrs["n_params"] and summary["layers"]
        metrics = json.loads((study_dir / "trials" / str(t.number) / "metrics.json").read_text())
        assert len(metrics) == t.user_attrs["epochs_completed"]
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert complete and all(t.user_attrs["epochs_completed"] <= 6 for t in complete)
    config = json.loads((study_dir / "config.json").read_text())
    assert config["seed"] == 0 and config["task"]["row"] == "image_recognition"
    assert len(config["data"]["fingerprint"]) == 16 and config["versions"]["optuna"]


def test_small_data_is_cross_validated_and_exported_as_fold_networks(digits_search):
    """600 images: every trial trains 5 fold networks and is scored out of fold; each scored
    trial keeps its networks, and the exported model is the selected trials' fold networks."""
    est, _, _ = digits_search
    study_dir = est.study_dir_
    config = json.loads((study_dir / "config.json").read_text())
    assert config["selection"]["scheme"] == "cv" and config["selection"]["folds"] == 5
    study = optuna.load_study(study_name="digits", storage=f"sqlite:///{study_dir / 'study.db'}")
    for t in study.get_trials():
        scored = t.state.name == "COMPLETE" or t.user_attrs.get("epochs_completed", 0) > 0
        kept = study_dir / "trials" / str(t.number) / "best.pt"
        assert kept.exists() == scored  # 6 trials: fewer than the 16 that keep theirs
        if scored:
            assert t.user_attrs["folds"] == 5 and 0 <= t.user_attrs["score_spread"] < 0.5
    bundle = est.model_.config
    assert bundle["selection"]["scheme"] == "cv"
    assert all(m["networks"] == 5 and not m.get("retrained") for m in bundle["members"])
    assert sum(m["weight"] for m in bundle["members"]) == pytest.approx(1.0, abs=1e-3)
    assert len(est.model_.network.model.members) == 5 * len(bundle["members"])
    board = est.leaderboard()
    weights = board.dropna(subset=["weight"]).set_index("trial")["weight"]
    assert weights.to_dict() == {m["trial"]: m["weight"] for m in bundle["members"]}
    assert board.loc[board["status"] == "complete", "spread"].notna().all()


def test_the_model_generalises_and_reloads_to_identical_predictions(digits_search):
    est, X_test, y_test = digits_search
    assert est.score(X_test, y_test) >= 0.85  # 480 training images, 6 epochs at most
    reloaded = automl.load(est.study_dir_ / "best")
    assert np.array_equal(reloaded.predict(X_test), est.predict(X_test))
    assert np.array_equal(reloaded.predict_proba(X_test), est.predict_proba(X_test))
    assert list(est.classes_) == list(range(10))


def test_leaderboard_ranks_every_trial(digits_search):
    est, _, _ = digits_search
    board = est.leaderboard()
    assert list(board.columns[:4]) == ["rank", "trial", "family", "status"]
    assert len(board) >= 4 and board["rank"].tolist() == list(range(1, len(board) + 1))
    complete = board[board["status"] == "complete"]
    assert complete["score"].is_monotonic_decreasing


def test_failing_trials_are_recorded_with_their_reasons_and_the_search_goes_on(
    ray_local, studies_dir, breast_cancer_frame
):
    from tests.support import faulty_families  # noqa: F401 - registers the broken families

    frame, y = breast_cancer_frame
    train, test = frame.index < 450, frame.index >= 450
    est = AutoDeep(
        budget="5m",  # 8 trials end it, whatever the machine's speed
        families=["raises", "nan", "oom", "mlp"],
        studies_dir=studies_dir,
        random_state=0,
        max_epochs=5,
        max_trials=8,
        # no trial here hangs: a cap no slow machine reaches, so each fails for its own reason
        trial_timeout="2m",
        selection="holdout",  # one network per trial: the failures are tested, not folds
        verbose=False,
    )
    est.fit(frame[train], y[train])
    board = est.leaderboard()
    assert len(board) == 8  # the search went on past every failure
    by_family = {f: rows for f, rows in board.groupby("family")}
    assert (by_family["raises"]["status"] == "failed").all()
    assert by_family["raises"]["reason"].str.contains("raises on purpose").all()
    assert (by_family["nan"]["status"] == "failed").all()
    assert by_family["nan"]["reason"].str.contains("loss became nan").all()
    # out of memory at batch 32: retried once at 16, where it fits, and trained
    oom = by_family["oom"]
    assert len(oom) and (oom["status"] != "failed").all() and (oom["epochs"] > 0).all()
    assert oom["reason"].str.contains("out of memory: retried at batch size 16").all()
    assert est.best_params_["family"] == "mlp"
    # a real model despite the broken families: the majority class is 77 % of these rows (a
    # short search of 5-epoch trials scored 0.89-0.97 across runs; quality lives in bench/)
    assert est.score(frame[test], y[test]) > 0.85


def test_a_hung_trial_is_stopped_at_its_cap_and_its_worker_is_not_reused(
    ray_local, studies_dir, breast_cancer_frame
):
    from tests.support import faulty_families  # noqa: F401 - registers the broken families

    frame, y = breast_cancer_frame
    est = AutoDeep(
        budget="5m",  # 4 trials end it, whatever the machine's speed
        families=["sleeps", "mlp"],
        studies_dir=studies_dir,
        random_state=0,
        max_epochs=5,
        max_trials=4,
        # counted from the trial's start, not its worker's (whose start-up takes 5 s here)
        trial_timeout="5s",
        selection="holdout",
        verbose=False,
    )
    est.fit(frame, y)
    board = est.leaderboard()
    assert len(board) == 4
    sleeps = board[board["family"] == "sleeps"]
    # hangs in its first batch: stopped by the driver at its cap, without a single report
    assert len(sleeps) and (sleeps["status"] == "failed").all()
    assert sleeps["reason"].str.contains("exceeded its time cap of 5s").all()
    # the 4 trials ended the search, not its budget: a hung trial's worker is killed, not
    # kept for the next trial (which would hang behind it, its CPU held until the budget)
    assert not board["reason"].str.contains("stopped by the time budget").any(), board
    assert est.best_params_["family"] == "mlp"


def test_when_every_trial_fails_the_fit_fails_with_the_first_reason(ray_local, studies_dir):
    from tests.support import faulty_families  # noqa: F401 - registers the broken families

    X, y = load_breast_cancer(return_X_y=True)
    est = AutoDeep(
        budget="2m", families=["raises"], studies_dir=studies_dir, max_trials=2, verbose=False
    )
    with pytest.raises(
        SearchError,
        match="All 2 trials failed; the first because: RuntimeError: this family raises on purpose",
    ):
        est.fit(X, y)
    assert list(studies_dir.glob("*/config.json")) and not list(studies_dir.glob("*/driver.json"))


def test_the_default_gpu_share_follows_the_size_of_the_largest_default_network():
    from automl.data import from_memory
    from automl.engine.cluster import default_gpu_share
    from automl.prepare import prepare_data
    from automl.task import detect_task

    def share(shape):
        rng = np.random.default_rng(0)
        dataset = from_memory(rng.random(shape, dtype=np.float32), np.arange(shape[0]) % 2)
        return default_gpu_share(prepare_data(dataset, detect_task(dataset), 0).task)

    assert share((40, 8, 8)) == 0.25  # small networks: four trials share a GPU
    # photos start at their lowest searched resolution (56 px of 224): small enough to share
    assert share((40, 224, 224, 3)) == 0.25
    assert share((40, 64, 2048, 3)) == 0.5  # a DBN over 32 x 1024 x 3 inputs at 32 px: two
