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
from tests.support.cli import assert_one_line_error, run_cli

ROOT = Path(__file__).resolve().parent.parent


def test_bad_input_gives_one_line_and_exit_code_2(tmp_path: Path):
    assert_one_line_error(run_cli("fit", tmp_path / "nope"), "does not exist")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run_cli("fit", tmp_path / "empty"), "is empty")
    table = tmp_path / "t.csv"
    pd.DataFrame({"a": range(20), "label": [0, 1] * 10, "target": [1] * 20}).to_csv(
        table, index=False
    )
    assert_one_line_error(run_cli("fit", table), "ambiguous")
    assert_one_line_error(run_cli("fit", table, "--target", "price"), "'price' is not in the table")
    assert_one_line_error(run_cli("detect", table, "--target", "target"), "single class")
    assert_one_line_error(run_cli("fit", table, "--budget", "fast"), "duration like '90s'")
    assert_one_line_error(run_cli("fit", table, "--target", "label", "--seed", "-1"), "seed")
    assert_one_line_error(run_cli("fit", table, "--budgett", "1m"), "unrecognized arguments")
    assert_one_line_error(
        run_cli(
            "fit",
            table,
            "--target",
            "label",
            "--address",
            "127.0.0.1:1",
            "--studies-dir",
            tmp_path / "studies",
        ),
        "Cannot reach a Ray cluster",
    )
    assert not (tmp_path / "studies").exists()  # rejected before any study was made
    assert_one_line_error(run_cli("detect", tmp_path / "empty", "--task", "x"), "invalid choice")


def test_detect_explains_the_decision(digits_folder: Path):
    result = run_cli("detect", digits_folder)
    assert result.returncode == 0, result.stderr
    assert "300 PNG files in 10 class folders" in result.stdout
    assert "image_recognition" in result.stdout and "cnn" in result.stdout
    as_json = json.loads(run_cli("detect", digits_folder, "--json").stdout)
    assert as_json["row"] == "image_recognition" and as_json["n_classes"] == 10


@pytest.mark.slow
def test_fit_then_predict_round_trip_within_the_budget(
    tmp_path: Path, digits_folder: Path, digits_images
):
    studies = tmp_path / "studies"
    started = time.monotonic()
    fit = run_cli(
        "fit",
        digits_folder,
        "--budget",
        "40s",
        "--studies-dir",
        studies,
        "--study",
        "pets",
        "--max-epochs",
        "5",
        "--max-trials",
        "8",
    )
    wall = time.monotonic() - started
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert wall <= 40 + 10, f"took {wall:.1f}s for a 40s budget"
    assert "model: " in fit.stdout and "rank" in fit.stdout
    assert re.search(r"^trials \d+ done .* left$", fit.stderr, re.M)  # progress was shown

    new_images = tmp_path / "new"
    images, labels = digits_images
    from tests.support.images import write_image_folder

    write_image_folder(new_images, images[1000:1060], labels[1000:1060])
    out = tmp_path / "preds.csv"
    predict = run_cli("predict", "pets", new_images, "-o", out, "--proba", "--studies-dir", studies)
    assert predict.returncode == 0, predict.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 60 and {"id", "prediction", "proba_0", "proba_9"} <= set(frame.columns)
    truth = frame["id"].str.split("/").str[0].astype(int)
    assert (frame["prediction"] == truth).mean() >= 0.7

    # the CLI's predictions equal the Python API's on the same files
    predictor = automl.load(studies / "pets" / "best")
    same = predictor.predict_path(new_images)
    assert np.array_equal(same["prediction"].astype(str), frame["prediction"].astype(str))

    listing = run_cli("studies", studies)
    assert "pets" in listing.stdout and "image_recognition" in listing.stdout
    again = run_cli("fit", digits_folder, "--studies-dir", studies, "--study", "pets")
    assert_one_line_error(again, "already exists")


def test_loading_a_tampered_bundle_is_refused(tmp_path: Path, digits_images):
    """A pickle payload in place of the weights is refused, never unpickled."""
    import pickle

    import torch

    from automl.bundle import save_bundle
    from automl.data import from_memory
    from automl.ensemble import Ensemble
    from automl.families import get_family
    from automl.preprocessing import Preprocessing
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
    assert_one_line_error(run_cli("predict", bundle, table, "-o", tmp_path / "p.csv"), "Refusing")


@pytest.mark.slow
def test_regression_table_from_csv_round_trip(tmp_path: Path):
    """diabetes as a CSV: detected as regression, predictions in the target's own units."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame  # column 'target'
    table = tmp_path / "diabetes.csv"
    frame.to_csv(table, index=False)
    studies = tmp_path / "studies"
    fit = run_cli(
        "fit",
        table,
        "--budget",
        "30s",
        "--studies-dir",
        studies,
        "--max-epochs",
        "10",
        "--max-trials",
        "6",
    )
    assert fit.returncode == 0, fit.stderr[-3000:]
    assert "target column 'target' chosen by its name" in fit.stderr
    assert "-> regression -> mlp" in fit.stderr
    out = tmp_path / "preds.csv"
    assert run_cli("predict", studies / "diabetes", table, "-o", out).returncode == 0
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
