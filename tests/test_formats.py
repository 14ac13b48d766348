"""Every row of the decision table from files on disk: detection, a tiny fit, and prediction
on new raw files that matches the in-process predictor; plus the bad inputs of each format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits

import automl
from automl import cli
from tests.support import browser, formats
from tests.support.bundles import quick_bundle


def run(capsys, *args) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def detect(capsys, path: Path, *extra) -> dict:
    code, out, err = run(capsys, "detect", path, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def one_line_error(capsys, *args) -> str:
    code, _, err = run(capsys, *args)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One dataset per format, written once for the module."""
    root = tmp_path_factory.mktemp("formats")
    digits = load_digits()
    images, labels = digits.images, digits.target
    cancer = load_breast_cancer(as_frame=True).frame
    cancer.to_csv(root / "cancer.csv", index=False)
    diabetes = load_diabetes(as_frame=True).frame
    diabetes.to_csv(root / "diabetes.tsv", sep="\t", index=False)
    mixed = cancer.iloc[:, :4].copy()
    rng = np.random.default_rng(0)
    mixed["when"] = pd.date_range("2020-01-01", periods=len(mixed), freq="D")
    mixed["flag"] = rng.random(len(mixed)) > 0.5
    mixed["colour"] = rng.choice(["red", "green", None], size=len(mixed))
    mixed["comment"] = [formats.documents(1, i)[0][0] for i in range(len(mixed))]
    mixed["class"] = np.where(cancer["target"] == 1, "benign", "malignant")
    mixed.to_parquet(root / "mixed.parquet")
    cancer.head(200).to_json(root / "cancer.jsonl", orient="records", lines=True)
    cancer.drop(columns=["target"]).to_csv(root / "unlabelled.csv", index=False)
    series, _ = formats.labelled_series(30, seed=9, variable=False)
    np.save(root / "waves.npy", np.stack(series).transpose(0, 2, 1))  # (n, F, T)
    waves, _ = formats.labelled_series(40, seed=11, variable=False)
    amplitude = np.asarray([float(np.abs(w).max()) for w in waves])  # a numeric target
    np.savez(root / "amplitude.npz", X=np.stack(waves), y=amplitude)
    return {
        "amplitude_npz": root / "amplitude.npz",
        "images": _image_folder(root / "digits", images[:200], labels[:200]),
        "flat_images": formats.write_flat_images(root / "flat", images[:120]),
        "split_images": formats.write_split_images(root / "split", images[:200], labels[:200]),
        "csv": root / "cancer.csv",
        "tsv": root / "diabetes.tsv",
        "parquet": root / "mixed.parquet",
        "jsonl": root / "cancer.jsonl",
        "unlabelled_csv": root / "unlabelled.csv",
        "text_folder": formats.write_text_folder(root / "news"),
        "text_csv": formats.write_text_csv(root / "reviews.csv"),
        "wav_folder": formats.write_wav_folder(root / "tones"),
        "ts_pair": formats.write_ts_pair(root / "Waves"),
        "npz": formats.write_npz(root / "waves.npz"),
        "npy": root / "waves.npy",
        "wide_csv": formats.write_wide_csv(root / "wide.csv"),
        "long_csv": formats.write_long_csv(root / "long.csv"),
        "dated_csv": formats.write_dated_csv(root / "sales.csv"),
    }


def _image_folder(root: Path, images, labels) -> Path:
    from tests.support.images import write_image_folder

    return write_image_folder(root, images, labels)


# name, extra CLI args, modality, row, target kind, a phrase of the evidence
DETECTION = [
    ("images", [], "image", "image_recognition", "multiclass", "200 PNG files in 10 class"),
    ("flat_images", [], "image", "unsupervised", "none", "no class folders (unlabelled)"),
    ("split_images", [], "image", "image_recognition", "multiclass", "40 val, 40 test as given"),
    ("csv", [], "table", "classification", "binary", "569 rows x 30 feature columns"),
    ("tsv", [], "table", "regression", "regression", "442 rows x 10 feature"),
    ("parquet", [], "table", "classification", "binary", "8 feature columns"),
    ("jsonl", [], "table", "classification", "binary", "200 rows"),
    ("unlabelled_csv", [], "table", "unsupervised", "none", "569 rows"),
    ("text_folder", [], "text", "text_processing", "binary", "60 TXT files in 2 class"),
    ("text_csv", [], "text", "text_processing", "binary", "60 documents in column 'review'"),
    ("wav_folder", [], "audio", "speech_recognition", "binary", "40 WAV files in 2 class"),
    ("ts_pair", [], "series", "time_series", "binary", "40 train, 20 test as given"),
    ("npz", [], "series", "time_series", "binary", "50 series, length 32, 2 features"),
    ("amplitude_npz", [], "series", "time_series", "regression", "40 series"),
    ("npy", [], "series", "unsupervised", "none", "30 series, length 32, 2 features"),
    ("wide_csv", [], "series", "time_series", "binary", "wide table of 50 series"),
    ("long_csv", [], "series", "time_series", "binary", "long table of 40 series, lengths"),
    ("dated_csv", ["--horizon", "3"], "series", "time_series", "forecasting", "'month'"),
    ("csv", ["--task", "unsupervised"], "table", "unsupervised", "none", "569 rows"),
]


@pytest.mark.parametrize(("name", "extra", "modality", "row", "kind", "evidence"), DETECTION)
def test_every_format_is_detected(capsys, files, name, extra, modality, row, kind, evidence):
    info = detect(capsys, files[name], *extra)
    assert (info["modality"], info["row"], info["target_kind"]) == (modality, row, kind)
    assert evidence in info["evidence"], info["evidence"]
    assert info["families"], "every row has a family to search"


def test_detection_details(capsys, files):
    npy = detect(capsys, files["npy"])
    assert any("(n, features, time)" in note for note in npy["notes"])  # the layout rule said
    assert detect(capsys, files["npy"], "--layout", "ntf")["data_shape"] == [30, 2, 32]
    split = detect(capsys, files["split_images"])
    # grey digits saved as grey, RGB and RGBA PNGs: read as one colour mode, grey in fact
    assert split["data_shape"][1:] == [8, 8, 1]
    long = detect(capsys, files["long_csv"])
    assert long["data_shape"][2] == 2 and long["class_counts"] == {"0": 20, "1": 20}
    code, out, _ = run(capsys, "detect", files["text_folder"])
    assert code == 0 and "text processing -> rnn" in out and "class" in out


# -------------------------------------------------------------------------- tiny fits


def _fit(capsys, tmp_path: Path, data: Path, *extra: str) -> Path:
    studies = tmp_path / "studies"
    code, out, err = run(
        capsys,
        "fit",
        data,
        "--budget",
        "2m",  # one trial ends it
        "--max-epochs",
        "4",
        "--max-trials",
        "1",  # the first family's defaults, in process: the data path is what is tested
        "--studies-dir",
        studies,
        "--study",
        "s",
        "--quiet",
        *extra,
    )
    assert code == 0, err[-2000:]
    assert "model: " in out
    return studies / "s" / "best"


def _predict(capsys, tmp_path: Path, model: Path, data: Path, *extra: str) -> pd.DataFrame:
    out = tmp_path / "preds.csv"
    code, _, err = run(capsys, "predict", model, data, "-o", out, *extra)
    assert code == 0, err
    return pd.read_csv(out)


@pytest.mark.slow
def test_text_fit_and_predict_new_files(capsys, ray_local, tmp_path, files):
    model = _fit(capsys, tmp_path, files["text_folder"])
    new = formats.write_text_folder(tmp_path / "new", n=20, seed=99)
    frame = _predict(capsys, tmp_path, model, new, "--proba")
    docs = [p.read_text() for p in sorted(new.rglob("*.txt"))]
    in_process = automl.load(model).predict(docs)
    assert frame["prediction"].tolist() == list(in_process)
    assert {"proba_markets", "proba_sport"} <= set(frame.columns)
    assert (frame["prediction"] == frame["id"].str.split("/").str[0]).mean() >= 0.7


@pytest.mark.slow
def test_audio_fit_and_predict_new_files(capsys, ray_local, tmp_path, files):
    from scipy.io import wavfile

    model = _fit(capsys, tmp_path, files["wav_folder"])
    new = formats.write_wav_folder(tmp_path / "new", n=10, seed=98)
    frame = _predict(capsys, tmp_path, model, new)
    waves = [wavfile.read(p)[1] / 32768.0 for p in sorted(new.rglob("*.wav"))]
    assert frame["prediction"].tolist() == list(automl.load(model).predict(waves))
    config = json.loads((model / "bundle.json").read_text())
    assert config["preprocessing"]["audio"]["frames"]["sample_rate"] == formats.SAMPLE_RATE


@pytest.mark.slow
def test_series_fit_reports_the_given_test_split_and_predicts_ts_files(
    capsys, ray_local, tmp_path, files
):
    from automl.data.series import read_ts

    model = _fit(capsys, tmp_path, files["ts_pair"])
    config = json.loads((model / "bundle.json").read_text())
    assert config["n_test"] == 20 and 0.0 <= config["test_score"] <= 1.0
    test_file = files["ts_pair"] / "Waves_TEST.ts"
    frame = _predict(capsys, tmp_path, model, test_file)
    series, _, _ = read_ts(test_file)
    assert frame["prediction"].astype(str).tolist() == [
        str(v) for v in automl.load(model).predict(series)
    ]


@pytest.mark.slow
def test_forecast_fit_and_predict_the_next_values(capsys, ray_local, tmp_path, files):
    model = _fit(capsys, tmp_path, files["dated_csv"], "--horizon", "3")
    frame = _predict(capsys, tmp_path, model, files["dated_csv"])
    assert frame["step"].tolist() == [1, 2, 3]
    history = pd.read_csv(files["dated_csv"])
    in_process = automl.load(model).predict(history["sales"].to_numpy())
    np.testing.assert_allclose(frame["prediction"], in_process, rtol=1e-5)
    assert 5 < frame["prediction"].mean() < 15  # the series' level (10 +- 3)


@pytest.mark.slow
def test_unlabelled_images_give_anomaly_scores_and_codes(capsys, ray_local, tmp_path, files):
    model = _fit(capsys, tmp_path, files["flat_images"], "--code-size", "5")
    frame = _predict(capsys, tmp_path, model, files["flat_images"])
    assert list(frame.columns) == ["id", "anomaly_score"] and len(frame) == 120
    predictor = automl.load(model)
    # the pixels exactly as the PNG writer stored them
    images = (load_digits().images[:120] * (255.0 / 16.0)).astype(np.uint8).astype(np.float32)
    np.testing.assert_allclose(
        frame["anomaly_score"], predictor.score_samples(images), rtol=1e-4, atol=1e-6
    )
    with_codes = _predict(capsys, tmp_path, model, files["flat_images"], "--scores", "--codes")
    codes = predictor.transform(images)
    assert codes.shape == (120, 5)
    assert list(with_codes.columns) == ["id", "anomaly_score", *(f"code_{i}" for i in range(5))]
    np.testing.assert_allclose(with_codes.filter(like="code_"), codes, rtol=1e-4, atol=1e-5)
    code, _, err = run(
        capsys, "predict", model, files["flat_images"], "-o", tmp_path / "p.csv", "--proba"
    )
    assert code == 2 and "--proba is for classifiers" in err

    # the dashboard's map of codes: the validation samples under the exported model
    from automl.dashboard import data as dashboard_data
    from automl.dashboard.figures import codes_figure

    study = dashboard_data.load_study(model.parent)
    points = dashboard_data.codes_map(study)
    n_val = json.loads((model.parent / "config.json").read_text())["data"]["n_val"]
    assert len(points) == n_val and points["sample"].is_unique
    assert (points["anomaly_score"] >= 0).all() and points[["x", "y"]].abs().sum().sum() > 0
    assert "% of the codes' variance" in points.attrs["axes"][0]
    assert len(codes_figure(study).data[0].x) == n_val
    if browser.browser_installed():  # CI requires it: the view drawn by a real browser
        assert cli.main(["report", str(model.parent), "-o", str(tmp_path / "r.html")]) == 0
        with browser.chromium() as driver:
            plots = browser.open_offline(driver, tmp_path / "r.html")
        codes = [shown for title, shown in plots.items() if title.startswith("Learned codes")]
        assert codes == [True], plots


# -------------------------------------------------------------------------- bad input


def test_bad_input_of_each_format(capsys, tmp_path, files):
    mixed = tmp_path / "mixed"
    formats.write_text_folder(mixed, n=4)
    formats.write_flat_images(mixed / "markets", load_digits().images[:3])
    assert "mixes kinds of data (3 image, 4 text files)" in one_line_error(capsys, "detect", mixed)

    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    assert "Cannot read" in one_line_error(capsys, "detect", broken)

    header = tmp_path / "bad.ts"
    header.write_text("@problemName X\n@classLabel maybe 1 2\n@data\n1,2,3:1\n")
    assert "must start with true or false" in one_line_error(capsys, "detect", header)
    no_data = tmp_path / "nodata.ts"
    no_data.write_text("@problemName X\n@classLabel true 1 2\n1,2,3:1\n")
    assert "line 3" in one_line_error(capsys, "detect", no_data)

    ragged = tmp_path / "ragged.npy"
    np.save(ragged, np.array([np.zeros(3), np.zeros(5)], dtype=object), allow_pickle=True)
    assert "without unpickling" in one_line_error(capsys, "detect", ragged)

    rare = tmp_path / "rare.csv"
    pd.DataFrame({"x": range(12), "y": ["a"] * 6 + ["b"] * 5 + ["c"]}).to_csv(rare, index=False)
    assert "fewer than 2 examples" in one_line_error(capsys, "detect", rare)

    assert "--horizon" in one_line_error(capsys, "detect", files["text_folder"], "--horizon", "2")
    assert "needs labels" in one_line_error(
        capsys, "detect", files["flat_images"], "--task", "classification"
    )
    assert "--task regression needs a numeric target" in one_line_error(
        capsys, "detect", files["images"], "--task", "regression"
    )


def test_handled_oddities_are_counted_not_dropped_silently(capsys, tmp_path):
    texts = formats.write_text_folder(tmp_path / "texts", n=12)
    (texts / "sport" / "latin.txt").write_bytes("caf\xe9 goal team".encode("latin-1"))
    notes = detect(capsys, texts)["notes"]
    assert any("1 files that are not UTF-8 as Latin-1" in n for n in notes), notes

    tones = formats.write_wav_folder(tmp_path / "tones", n=12)
    (tones / "low" / "corrupt.wav").write_bytes(b"RIFF\x00\x00not a wave")
    info = detect(capsys, tones)
    assert info["n_samples"] == 12
    assert any("skipped 1 unreadable .wav files" in n for n in info["notes"]), info["notes"]

    table = tmp_path / "gaps.csv"
    pd.DataFrame({"x": range(30), "y": [0, 1, None] * 10}).to_csv(table, index=False)
    assert any("dropped 10 rows" in n for n in detect(capsys, table)["notes"])


def test_in_memory_data_follows_the_same_rules():
    from automl.data import from_memory
    from automl.errors import DataError

    docs, labels = formats.documents(20, 0)
    assert from_memory(docs, labels).modality == "text"
    assert from_memory(pd.DataFrame({"review": docs}), labels).modality == "text"
    series, y = formats.labelled_series(12)
    ragged = from_memory(series, y)
    assert ragged.modality == "series" and ragged.data_shape[2] == 2
    padded = np.full((3, 10, 2), np.nan, dtype=np.float32)
    padded[:, :6] = 1.0
    as_series = from_memory(padded)
    assert as_series.modality == "series" and [len(s) for s in as_series.X] == [6, 6, 6]
    assert from_memory(np.zeros((5, 8, 8))).modality == "image"
    assert from_memory(np.zeros((5, 8, 8)), modality="series").modality == "series"
    with pytest.raises(DataError, match="time axis cannot be told"):
        from_memory([np.zeros((3, 2)), np.zeros((4, 5))])
    with pytest.raises(DataError, match="sample rate"):
        from_memory([np.zeros(100)], modality="audio")


# -------------------------------------------------------------------------- predict, every format


@pytest.mark.parametrize(
    "name", ["text_csv", "wide_csv", "long_csv", "npz", "amplitude_npz", "npy", "parquet"]
)
def test_predict_reads_new_files_like_the_training_data(capsys, tmp_path, files, name):
    from automl.data import load_path
    from automl.data.series import read_array_file

    dataset = load_path(files[name])
    model = quick_bundle(dataset, tmp_path / "bundle")
    frame = _predict(capsys, tmp_path, model, files[name])
    predictor = automl.load(model)
    if name == "npy":  # unlabelled: anomaly scores
        series = read_array_file(files[name])[0]
        np.testing.assert_allclose(frame["anomaly_score"], predictor.score_samples(series))
        return
    in_memory = {
        "text_csv": lambda: pd.read_csv(files[name])["review"].tolist(),
        "wide_csv": lambda: dataset.X,
        "long_csv": lambda: dataset.X,
        "npz": lambda: dataset.X,
        "amplitude_npz": lambda: dataset.X,
        "parquet": lambda: pd.read_parquet(files[name]).drop(columns=["class"]),
    }[name]()
    expected = predictor.predict(in_memory)
    if name == "amplitude_npz":  # sequence regression: values, not labels
        np.testing.assert_allclose(frame["prediction"], expected, rtol=1e-5)
        return
    assert frame["prediction"].astype(str).tolist() == [str(v) for v in expected]
    if name == "long_csv":  # one prediction per series id, in id order
        assert frame["id"].astype(str).tolist() == [str(i) for i in range(40)]


def test_review_edge_cases(capsys, tmp_path, files):
    """Tables that only look like series stay tables; dated series drop unparseable times."""
    from automl.data import load_path

    pixels = pd.DataFrame(np.arange(240).reshape(20, 12), columns=[f"p{i}" for i in range(12)])
    pixels["label"] = [0, 1] * 10
    pixels.to_csv(tmp_path / "pixels.csv", index=False)
    assert load_path(tmp_path / "pixels.csv").modality == "table"  # p0..p11 are features
    numbered = pixels.rename(columns={f"p{i}": str(i) for i in range(12)})
    numbered.to_csv(tmp_path / "numbered.csv", index=False)
    assert load_path(tmp_path / "numbered.csv").modality == "table"  # a saved array

    panel = pd.DataFrame(
        {"store_id": [1, 1, 2, 2] * 5, "day": np.repeat(np.arange(10), 2), "sales": range(20)}
    )
    panel.to_csv(tmp_path / "panel.csv", index=False)
    assert load_path(tmp_path / "panel.csv", target="sales").modality == "table"

    dated = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=40).astype(str)})
    dated["value"] = np.arange(40.0)
    dated.loc[5, "date"] = "not a date"
    dated.to_csv(tmp_path / "dated.csv", index=False)
    series = load_path(tmp_path / "dated.csv", horizon=2)
    assert series.X[0][-1, 0] == 39.0 and len(series.X[0]) == 39
    assert any("dropped 1 rows" in n for n in series.notes)

    folder = _image_folder(tmp_path / "pets", load_digits().images[:20], np.arange(20) % 2)
    (folder / "README.txt").write_text("my pets")
    dataset = load_path(folder)
    assert dataset.modality == "image" and any("ignored 1 other files" in n for n in dataset.notes)

    empty = tmp_path / "empty.npy"
    np.save(empty, np.zeros((0, 10)))
    assert "holds no series" in one_line_error(capsys, "detect", empty)
