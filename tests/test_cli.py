"""The `automl` command as a user runs it: a real process, real files, real exit codes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import automl
from tests.support.cli import assert_cli_error, assert_one_line_error, cli_in_process, run_cli
from tests.support.images import write_image_folder

ROOT = Path(__file__).resolve().parent.parent


def test_bad_input_gives_one_line_and_exit_code_2_in_a_real_process(tmp_path: Path):
    """One real process: the exit code and the absence of a traceback are the interpreter's."""
    assert_one_line_error(run_cli("fit", tmp_path / "nope"), "does not exist")


def test_bad_input_gives_one_line_and_exit_code_2(tmp_path: Path, capsys):
    (tmp_path / "empty").mkdir()
    assert_cli_error(capsys, "is empty", "fit", tmp_path / "empty")
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(20), "label": [0, 1] * 10, "target": [1] * 20}).to_csv(
        table, index=False
    )
    assert_cli_error(capsys, "ambiguous", "fit", table)
    assert_cli_error(capsys, "'price' is not in the table", "fit", table, "--target", "price")
    assert_cli_error(capsys, "single class", "detect", table, "--target", "target")
    assert_cli_error(capsys, "duration like '90s'", "fit", table, "--budget", "fast")
    assert_cli_error(capsys, "seed", "fit", table, "--target", "label", "--seed", "-1")
    assert_cli_error(capsys, "unrecognized arguments", "fit", table, "--budgett", "1m")
    studies = tmp_path / "studies"
    assert_cli_error(
        capsys,
        "Cannot reach a Ray cluster",
        *("fit", table, "--target", "label", "--address", "127.0.0.1:1", "--studies-dir", studies),
    )
    assert not studies.exists()  # rejected before any study was made
    assert_cli_error(capsys, "invalid choice", "detect", tmp_path / "empty", "--task", "x")


def test_detect_explains_the_decision(digits_folder: Path, capsys):
    code, out, err = cli_in_process(capsys, "detect", digits_folder)
    assert code == 0, err
    assert "300 PNG files in 10 class folders" in out
    assert "image_recognition" in out and "cnn" in out
    code, out, _ = cli_in_process(capsys, "detect", digits_folder, "--json")
    as_json = json.loads(out)
    assert as_json["row"] == "image_recognition" and as_json["n_classes"] == 10


@pytest.mark.slow
def test_fit_then_predict_round_trip_within_the_budget(
    tmp_path: Path, digits_folder: Path, digits_images, capsys
):
    """`automl fit` in its own process, as a user runs it; 4 trials end it, long before its
    budget on any machine (the hard budget itself: tests/test_pipeline.py, bench/run.py)."""
    studies = tmp_path / "studies"
    args = ("--studies-dir", studies, "--study", "pets", "--max-epochs", "5", "--max-trials", "4")
    args += ("--selection", "holdout")  # one network per trial: the round trip is tested
    started = time.monotonic()
    fit = run_cli("fit", digits_folder, "--budget", "2m", *args)
    wall = time.monotonic() - started
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert wall <= 120 + 10, f"took {wall:.1f}s for a 2m budget"
    assert "model: " in fit.stdout and "rank" in fit.stdout
    assert re.search(r"^trials \d+ done .* left$", fit.stderr, re.M)  # progress was shown
    config = json.loads((studies / "pets" / "config.json").read_text())
    assert config["search"]["trials"] == 4 and config["budget_used_s"] <= 120

    new_images = tmp_path / "new"
    images, labels = digits_images
    write_image_folder(new_images, images[1000:1060], labels[1000:1060])
    out = tmp_path / "preds.csv"
    code, _, err = cli_in_process(
        capsys, "predict", "pets", new_images, "-o", out, "--proba", "--studies-dir", studies
    )
    assert code == 0, err
    frame = pd.read_csv(out)
    assert len(frame) == 60 and {"id", "prediction", "proba_0", "proba_9"} <= set(frame.columns)
    truth = frame["id"].str.split("/").str[0].astype(int)
    assert (frame["prediction"] == truth).mean() >= 0.7

    # the CLI's predictions equal the Python API's on the same files
    predictor = automl.load(studies / "pets" / "best")
    same = predictor.predict_path(new_images)
    assert np.array_equal(same["prediction"].astype(str), frame["prediction"].astype(str))

    code, listing, _ = cli_in_process(capsys, "studies", studies)
    assert "pets" in listing and "image_recognition" in listing
    again = ("fit", digits_folder, "--studies-dir", studies, "--study", "pets")
    assert_cli_error(capsys, "already exists", *again)


def test_loading_a_tampered_bundle_is_refused(tmp_path: Path, digits_images, capsys):
    """A pickle payload in place of the weights is refused, never unpickled."""
    import pickle

    import torch

    from automl.bundle import save_bundle
    from automl.data import from_memory
    from automl.ensemble import Ensemble
    from automl.preprocessing import Preprocessing
    from automl.search_spaces import get_family
    from automl.task import detect_task

    images, labels = digits_images
    dataset = from_memory(images[:100].reshape(100, -1), labels[:100])
    task = detect_task(dataset)
    pre = Preprocessing.fit(dataset, task, np.arange(100))
    task = task.with_inputs(pre.input_shape())
    params = {"family": "mlp", **get_family("mlp").defaults(task)}
    model = Ensemble([get_family("mlp").build(params, task)], True)
    bundle = save_bundle(
        tmp_path / "bundle", model, [{"family": "mlp", "params": params}], task, pre
    )
    # the exported model reproduces the in-memory one exactly
    features = torch.from_numpy(pre.transform(dataset.X))
    expected = torch.softmax(model.eval()(features), dim=1).detach().numpy()
    assert np.array_equal(
        automl.load(bundle).predict_proba(images[:100].reshape(100, -1)), expected
    )

    (bundle / "model.safetensors").write_bytes(pickle.dumps({"evil": print}))
    table = tmp_path / "x.csv"
    pd.DataFrame(images[:5].reshape(5, -1), columns=[f"x{i}" for i in range(64)]).to_csv(table)
    assert_cli_error(capsys, "Refusing", "predict", bundle, table, "-o", tmp_path / "p.csv")


@pytest.mark.slow
def test_regression_table_from_csv_round_trip(tmp_path: Path, ray_local, capsys):
    """diabetes as a CSV: detected as regression, predictions in the target's own units."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame  # column 'target'
    table = tmp_path / "diabetes.csv"
    frame.to_csv(table, index=False)
    studies = tmp_path / "studies"
    code, _, err = cli_in_process(
        capsys, "fit", table, "--budget", "2m", "--studies-dir", studies,
        "--max-epochs", "10", "--max-trials", "6", "--selection", "holdout",
    )  # fmt: skip
    assert code == 0, err[-3000:]
    assert "target column 'target' chosen by its name" in err
    assert "-> regression -> mlp" in err
    out = tmp_path / "preds.csv"
    assert cli_in_process(capsys, "predict", studies / "diabetes", table, "-o", out)[0] == 0
    predictions = pd.read_csv(out)["prediction"].to_numpy()
    in_process = automl.load(studies / "diabetes").predict(frame.drop(columns=["target"]))
    assert np.allclose(predictions, in_process)
    assert abs(predictions.mean() - frame["target"].mean()) < 30  # original units, not scaled
    r2 = 1 - np.sum((frame["target"] - predictions) ** 2) / np.sum(
        (frame["target"] - frame["target"].mean()) ** 2
    )
    assert r2 > 0.3


@pytest.mark.parametrize(
    ("args", "env", "fragment"),
    [
        (["--gpus-per-trial", "-1"], {}, "--gpus-per-trial must be a fraction"),
        (["--max-trials", "0"], {}, "max_trials (--max-trials) must be a positive integer"),
        (["--concurrent-trials", "-2"], {}, "must be a positive integer"),
        (["--trial-timeout", "soon"], {}, "--trial-timeout must be a duration"),
        (["--trial-timeout", "0"], {}, "The trial timeout must be a positive duration"),
        (["--resume"], {}, "--resume needs the --study name"),
        (["--resume", "--study", "nope"], {}, "There is no study 'nope'"),
        ([], {"RAY_ADDRESS": "127.0.0.1:1"}, "Cannot reach a Ray cluster at '127.0.0.1:1'"),
    ],
)
def test_bad_engine_options_give_one_line_before_any_work(
    tmp_path: Path, capsys, monkeypatch, args, env, fragment
):
    from automl.cli import main

    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(20), "target": [0, 1] * 10}).to_csv(table, index=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    studies = tmp_path / "studies"
    assert main(["fit", str(table), "--studies-dir", str(studies), "--quiet", *args]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert not list(studies.glob("*"))  # nothing was started
