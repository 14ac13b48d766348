"""Photos at their resolution: large JPEGs decoded once to a working side (cached), trials
planned to fit their time, and prediction reading new photos the way training did."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from sklearn.datasets import load_digits

from automl.data.images import ImageReading, read_images
from automl.data.loading import load_path, visible_files
from automl.errors import DataError, TrialFailed
from automl.export import export_model
from automl.layers import downsampled, image_fits, resolutions
from automl.search_spaces import get_family
from automl.task_info import TaskInfo
from automl.trainer import PLAN_SHARE, TrainingConfig, plan_training, train_model
from tests.support.bundles import quick_bundle
from tests.support.cli import cli_captured
from tests.support.images import write_photo_folder

CLASSES = (0, 1, 7)


def task_of(modality: str, input_shape: tuple[int, ...], **more) -> TaskInfo:
    return TaskInfo(
        modality=modality, target_kind="multiclass", row="classification", families=("cnn",),
        reason="", n_samples=100, data_shape=input_shape, n_classes=10, input_shape=input_shape,
        **more,
    )  # fmt: skip


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> dict[str, Path]:
    """Digits as 240x320 RGB photos: 90 to train on, and new ones of another size."""
    digits = load_digits()
    rows = np.flatnonzero(np.isin(digits.target, CLASSES))
    root = tmp_path_factory.mktemp("photos")
    train, new = rows[:90], rows[90:120]
    write_photo_folder(root / "train", digits.images[train], digits.target[train])
    write_photo_folder(root / "new", digits.images[new], digits.target[new], size=(300, 260))
    return {"train": root / "train", "new": root / "new", "root": root}


@pytest.fixture(scope="module")
def fitted(photos, tmp_path_factory) -> tuple[Path, str]:
    """One in-process trial on the photos under a short budget: (bundle, fit output)."""
    studies = tmp_path_factory.mktemp("studies")
    code, out, err = cli_captured(
        "fit", photos["train"], "--budget", "40s", "--max-trials", "1", "--max-epochs", "4",
        "--studies-dir", studies, "--study", "photos",
    )  # fmt: skip
    assert code == 0, err
    return studies / "photos" / "best", out


def test_photos_are_brought_to_a_working_side_and_the_network_searches_below_it(photos):
    files = visible_files(photos["train"])
    X, kept, notes, how = read_images(files, reading=ImageReading(max_side=64))
    assert X.dtype == np.uint8 and X.shape == (90, 64, 64, 3) and len(kept) == 90
    # 240x320 photos: padded whole, their 48x64 content recorded for the networks to crop
    assert how == {"size": (64, 64), "mode": "RGB", "fit": "pad", "content": (48, 64)}
    assert "padded and resized 90 images to 64x64" in notes and X[:, :6].max() == 0
    cropped, _, notes, how = read_images(files, reading=ImageReading(max_side=64, fit="crop"))
    assert how == {"size": (64, 64), "mode": "RGB", "fit": "crop"}
    assert "centre-cropped and resized 90 images to 64x64" in notes
    # the digit fills the centre square: the crop keeps it, the tinted margins go
    centre = cropped[:, 16:48, 16:48].astype(float).mean()
    assert centre > cropped[:, :, :4].astype(float).mean()
    padded, _, _, how = read_images(files, reading=ImageReading(max_side=64, fit="pad"))
    assert how["fit"] == "pad" and "content" not in how  # the user's fit: none searched
    np.testing.assert_array_equal(padded, X)
    assert resolutions(task_of("image", (3, 128, 128))) == [32, 64, 128]
    assert resolutions(task_of("image", (3, 64, 96))) == [32, 64]
    assert resolutions(task_of("image", (1, 28, 28))) == []  # too small to shrink
    fixed, _, _, how = read_images(files, reading=ImageReading(side=40))
    assert fixed.shape[1:3] == (40, 40)
    with pytest.raises(DataError, match="--image-size must be at least"):
        ImageReading(side=2)


def test_crop_or_pad_is_searched_and_a_networks_crop_is_the_centre_crop_of_the_photos(photos):
    files = visible_files(photos["train"])
    padded, _, _, how = read_images(files, reading=ImageReading(max_side=64))
    task = task_of("image", (3, 64, 64), image_content=how["content"])
    assert image_fits(task) == ["pad", "crop"] and image_fits(task_of("image", (3, 64, 64))) == []
    pixels = torch.tensor(padded, dtype=torch.float32).permute(0, 3, 1, 2)
    for resolution, side in ((32, 32), (64, 48)):  # no larger than the content's short side
        crop, shape = downsampled({"resolution": resolution, "image_fit": "crop"}, task)
        seen = crop(pixels).permute(0, 2, 3, 1).numpy()
        assert shape == (3, side, side) and seen.shape == (90, side, side, 3)
        direct, _, _, _ = read_images(files, (side, side), "RGB", "crop")
        assert np.abs(seen - direct).mean() < 3.0, resolution  # of 255: resampling differs
    cnn = get_family("cnn")
    assert cnn.defaults(task)["cnn.image_fit"] == "pad"  # the first trial sees whole photos
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    fits = {cnn.suggest(study.ask(), task)["cnn.image_fit"] for _ in range(12)}
    assert fits == {"pad", "crop"}


def test_a_resumed_photo_search_reads_the_photos_and_searches_their_fit_as_it_began(
    photos, fitted, tmp_path
):
    shutil.copytree(fitted[0].parent, tmp_path / "photos")
    code, _, err = cli_captured(
        "fit", photos["train"], "--budget", "40s", "--max-trials", "2", "--max-epochs", "2",
        "--studies-dir", tmp_path, "--study", "photos", "--resume",
    )  # fmt: skip
    assert code == 0, err
    config = json.loads((tmp_path / "photos" / "config.json").read_text())
    assert config["data"]["source"]["image"]["content"] == [48, 64]
    storage = f"sqlite:///{tmp_path / 'photos' / 'study.db'}"
    trials = optuna.load_study(study_name="photos", storage=storage).trials
    assert len(trials) == 2
    assert all(any(p.endswith(".image_fit") for p in t.params) for t in trials), trials


def test_a_network_that_crops_the_photos_predicts_new_ones_and_exports(photos, tmp_path):
    dataset = load_path(photos["train"], images=ImageReading(max_side=64))
    changes = {"image_fit": "crop", "resolution": 32}
    bundle = quick_bundle(dataset, tmp_path / "best", "cnn", changes)
    onnx = export_model(bundle, tmp_path / "m.onnx", "onnx")
    written = []
    for model in (bundle, onnx):
        output = tmp_path / f"{model.name}.csv"
        code, _, err = cli_captured("predict", model, photos["new"], "-o", output)
        assert code == 0, err
        written.append(pd.read_csv(output))
    assert len(written[0]) == 30
    pd.testing.assert_frame_equal(written[0], written[1], atol=1e-4)


def test_grey_photos_saved_as_colour_are_read_as_grey(tmp_path):
    """Scans and renders saved as RGB JPEGs carry one channel three times: read as grey."""
    from PIL import Image

    digits = load_digits()
    for i in range(6):
        grey = Image.fromarray((digits.images[i] * 15).astype(np.uint8)).resize((96, 96))
        grey.convert("RGB").save(tmp_path / f"{i}.jpg", quality=90)
    files = sorted(tmp_path.glob("*.jpg"))
    X, _, notes, how = read_images(files, reading=ImageReading(max_side=64))
    assert X.shape == (6, 64, 64, 1) and how["mode"] == "L"
    assert "the images are grey saved as colour: read as grey (one channel)" in notes
    again, _, _, _ = read_images(files, how["size"], how["mode"], how["fit"])  # as predicting
    np.testing.assert_array_equal(X, again)


def test_a_decoded_folder_is_cached_and_decoded_again_when_a_file_changes(photos, tmp_path):
    files = visible_files(photos["train"])[:12]
    reading = ImageReading(max_side=64, cache_dir=tmp_path)
    first, _, notes, _ = read_images(files, reading=reading)
    assert not any("cache" in n for n in notes) and len(list(tmp_path.glob("*.npy"))) == 1
    again, _, notes, how = read_images(files, reading=reading)
    assert "decoded images read from the cache" in notes and how["size"] == (64, 64)
    np.testing.assert_array_equal(first, again)
    os.utime(files[0], ns=(files[0].stat().st_atime_ns, files[0].stat().st_mtime_ns + 10**9))
    _, _, notes, _ = read_images(files, reading=reading)
    assert not any("cache" in n for n in notes) and len(list(tmp_path.glob("*.npy"))) == 2


def test_a_fit_on_large_jpegs_records_its_reading_and_predicts_new_photos(photos, fitted):
    bundle, out = fitted
    assert "peak memory:" in out and "GB in this process" in out
    config = json.loads((bundle / "bundle.json").read_text())
    image = {"size": [64, 64], "mode": "RGB", "fit": "pad", "content": [48, 64]}
    assert config["source"]["image"] == image and config["task"]["image_content"] == [48, 64]
    member = config["members"][0]
    assert member["params"]["cnn.resolution"] == 32  # the lowest resolution is tried first
    assert member["params"]["cnn.image_fit"] == "pad"
    trials = optuna.load_study(
        study_name="photos", storage=f"sqlite:///{bundle.parent / 'study.db'}"
    ).trials
    assert [t.state.name for t in trials] == ["COMPLETE"]  # one trial run, none left waiting
    output = photos["root"] / "predictions.csv"
    code, _, err = cli_captured("predict", bundle, photos["new"], "-o", output)
    assert code == 0, err
    predictions = pd.read_csv(output)
    truth = [int(Path(i).parts[0]) for i in predictions["id"]]
    accuracy = float(np.mean(predictions["prediction"].to_numpy() == np.asarray(truth)))
    assert len(predictions) == 30 and accuracy >= 0.8, accuracy


def test_a_plan_fits_its_time_and_a_network_too_slow_for_it_fails_at_once():
    plan = plan_training(0.5, 2.0, 400, 300.0, 30)  # a full epoch: 202 s
    assert plan.epochs >= 1 and plan.steps < plan.full
    assert plan.epochs * (plan.steps * 0.5 + 2.0) <= PLAN_SHARE * 300.0
    with pytest.raises(TrialFailed, match="too slow for the 10s a trial has"):
        plan_training(1.0, 1.0, 400, 10.0, 30)


def test_training_given_little_time_plans_shorter_epochs_over_part_of_the_rows():
    """The plan comes from the machine's own step time, so only its consistency is checked:
    the epochs it planned are the epochs trained, within the share of the time it may use."""
    torch.manual_seed(0)
    digits = load_digits()
    X = torch.tensor(digits.data, dtype=torch.float32)
    y = torch.tensor(digits.target)
    task = task_of("table", (64,))
    network = torch.nn.Sequential(
        torch.nn.Linear(64, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    config = TrainingConfig(batch_size=8, max_epochs=200, patience=200)
    result = train_model(
        network, task, (X[:1500], y[:1500]), (X[1500:], y[1500:]), config, time_s=3.0
    )
    extra = result.history[0].extra
    assert extra["plan_full"] == 188 and extra["plan_epochs"] == len(result.history) < 200
    assert result.history[-1].finished and result.stop_reason == "max_epochs"
    step_s, steps = extra["plan_step_s"], extra["plan_steps"]
    assert len(result.history) * steps * step_s <= PLAN_SHARE * 3.0
