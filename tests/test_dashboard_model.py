"""The model view: what the finish records of the exported model's predictions, the frames
and figures drawn from them, and the study page's model section in headless Chromium.

Four real small studies (one-trial searches, in process): digits as images (a classifier),
diabetes as a table (a regressor), digits without labels (an autoencoder), and a monthly
series with trend and season to forecast.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from automl.dashboard import data as d
from automl.dashboard import model_data as m
from automl.dashboard import model_figures as mf
from automl.dashboard.report import write_report
from tests.support.browser import chromium, dashboard, open_offline, require_browser, wait_for
from tests.support.model_studies import write_model_studies

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> SimpleNamespace:
    return write_model_studies(tmp_path_factory.mktemp("model-view") / "studies")


def decoded(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_the_finish_records_held_out_predictions_with_previews(studies):
    study = d.load_study(studies.root / "digits")
    frame = m.predictions(study)
    bundle = studies.classifier.model_.config
    # 600 rows are cross-validated: every one is a validation row, predicted out of fold by
    # the networks that did not train on it; their accuracy is the recorded score
    assert len(frame) == 600 and frame["correct"].mean() == pytest.approx(
        bundle["validation_score"]
    )
    probabilities = frame.filter(like="proba::").to_numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert (frame["prediction"] == frame.filter(like="proba::").idxmax(axis=1).str[7:]).all()
    row = frame.iloc[0]
    assert row["target"] == str(studies.labels[row["row"]])  # the sample it names
    thumbnail = decoded(row["preview"])
    assert thumbnail.size == (64, 64)  # 8x8 digits enlarged to be seen
    assert m.predictions(study, "test") is None  # no test split was given


def test_frames_and_figures_of_each_kind_of_model(studies):
    frame = m.predictions(d.load_study(studies.root / "digits"))
    counts = m.confusion(frame)
    assert counts.to_numpy().sum() == len(frame) and list(counts.index) == [
        str(i) for i in range(10)
    ]
    assert np.trace(counts.to_numpy()) == frame["correct"].sum()
    report = m.class_report(frame)
    assert report["support"].sum() == len(frame)
    mistakes, total = m.gallery(frame)
    assert total == (~frame["correct"]).sum()
    assert mistakes["confidence"].is_monotonic_decreasing  # most confidently wrong first
    least, _ = m.gallery(frame, reverse=True)
    assert least["confidence"].is_monotonic_increasing
    diagonal, cell_total = m.gallery(frame, "3", "3")
    assert cell_total == counts.loc["3", "3"] and diagonal["correct"].all()
    assert set(mf.model_figures(frame)) == {"fig-confusion", "fig-roc", "fig-pr", "fig-calibration"}
    assert not m.roc_curves(frame).empty and m.calibration(frame)["count"].sum() == len(frame)

    regression = m.predictions(d.load_study(studies.root / "diabetes"))
    assert {"target", "prediction", "error"} <= set(regression.columns)
    largest, _ = m.gallery(regression)
    assert largest["error"].abs().is_monotonic_decreasing
    assert m.regression_errors(regression)["count"].sum() == len(regression)
    assert set(mf.model_figures(regression)) == {
        "fig-predicted",
        "fig-residuals",
        "fig-error-range",
    }

    anomalies = m.predictions(d.load_study(studies.root / "shapes"))
    ranked, _ = m.gallery(anomalies)
    assert ranked["score"].is_monotonic_decreasing
    assert decoded(ranked.iloc[0]["reconstruction"]).size == (64, 64)


def drawn_traces(driver, figure: str) -> list[str] | None:
    """The names of a figure's traces that Plotly drew with data; None until it has."""
    return driver.execute_script(
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g._fullData ? g._fullData.filter(t => t._length > 0).map(t => t.name) : null",
        figure,
    )


def _gallery_caption(driver) -> str:
    return driver.find_element("id", "gallery-caption").text


def test_a_confusion_cell_click_shows_that_cells_samples(studies):
    require_browser()
    frame = m.predictions(d.load_study(studies.root / "digits"))
    counts = m.confusion(frame)
    with dashboard(studies.root) as url, chromium() as driver:
        driver.get(f"{url}/study/digits")
        wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#gallery img.sample-image"),
            what="the gallery",
        )
        assert "the mistakes, most confident first" in _gallery_caption(driver)
        source = driver.find_element("css selector", "#gallery img.sample-image").get_attribute(
            "src"
        )
        assert decoded(source).size == (64, 64)
        loaded = driver.execute_script(
            "return [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)"
        )
        assert loaded  # the browser decoded every picture
        # a real click on the cell (true 1, predicted 1), found where Plotly drew it
        from selenium.webdriver.common.action_chains import ActionChains

        index = list(counts.index).index("1")
        drag = driver.find_element("css selector", "#fig-confusion .nsewdrag")
        x, y = driver.execute_script(
            "const l = document.querySelector('#fig-confusion .js-plotly-plot')._fullLayout;"
            "return [l.xaxis.l2p(arguments[0]), l.yaxis.l2p(arguments[0])];",
            index,
        )
        width, height = drag.size["width"], drag.size["height"]
        ActionChains(driver).move_to_element_with_offset(
            drag, x - width / 2, y - height / 2
        ).click().perform()
        wait_for(
            driver,
            lambda drv: "true 1, predicted 1" in _gallery_caption(drv),
            what=_gallery_caption,
        )
        tiles = driver.find_elements("css selector", "#gallery .sample")
        assert len(tiles) == min(counts.loc["1", "1"], m.GALLERY_PAGE)
        assert all("true 1, predicted 1" in t.text for t in tiles)


def test_forecast_record_and_frames(studies):
    frames = m.forecast(d.load_study(studies.root / "sales"))
    history, backtests, future = frames["history"], frames["backtests"], frames["next"]
    assert len(history) == 120 and list(future["step"]) == list(range(120, 126))
    # each validation window's forecast sits over what happened
    merged = backtests.merge(history, on="step")
    assert (merged["actual"] == merged["value"]).all() and backtests["window"].nunique() > 1
    assert list(m.backtest_errors(backtests)["ahead"]) == [1, 2, 3, 4, 5, 6]
    assert m.predictions(d.load_study(studies.root / "sales")) is None


def test_regression_forecast_and_unlabelled_views_and_the_report(studies, tmp_path):
    require_browser()
    with dashboard(studies.root) as url, chromium() as driver:
        driver.get(f"{url}/study/sales")
        traces = wait_for(
            driver, lambda drv: drawn_traces(drv, "fig-forecast"), what="the forecast"
        )
        assert {"history", "forecasts of validation windows", "the next steps"} <= set(traces)
        driver.get(f"{url}/study/diabetes")
        wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#fig-predicted .js-plotly-plot"),
            what="the regression view",
        )
        assert "the largest errors first" in _gallery_caption(driver)
        assert "page 1 of" in _gallery_caption(driver)
        driver.find_element("id", "gallery-next").click()  # paging works on every kind of page
        wait_for(driver, lambda drv: "page 2 of" in _gallery_caption(drv), what=_gallery_caption)
        driver.find_element("css selector", "#gallery-order input[value='last']").click()
        wait_for(
            driver,
            lambda drv: (
                "the smallest errors first" in _gallery_caption(drv)
                and "page 1 of" in _gallery_caption(drv)
            ),
            what=_gallery_caption,
        )
        assert "mae" in driver.find_element("id", "model-summary").text
        driver.get(f"{url}/study/tones")
        player = wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#gallery audio.sample-audio"),
            what="audio players",
        )[0]
        assert player.get_attribute("src").startswith("data:audio/wav;base64,")
        duration = wait_for(
            driver,
            lambda drv: drv.execute_script("return arguments[0].duration", player),
            what="the clip's length",
        )
        assert 0 < duration <= 2.0  # the browser decoded the clip
        assert (
            decoded(
                driver.find_element("css selector", "#gallery img.sample-image").get_attribute(
                    "src"
                )
            ).size[0]
            > 0
        )
        driver.get(f"{url}/study/shapes")
        rebuilt = wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#gallery img.sample-reconstruction"),
            what="reconstructions",
        )
        assert decoded(rebuilt[0].get_attribute("src")).size == (64, 64)
        report = write_report(studies.root / "digits", tmp_path / "digits.html")
        plots = open_offline(driver, report)
        assert "Confusion matrix (counts; colour: share of the true class)" in plots
        assert driver.find_elements("css selector", "img.sample-image")


def test_two_studies_side_by_side(studies):
    from automl.dashboard import compare

    table = compare.comparison(studies.root, ["digits", "digits-2"])
    assert list(table["study"]) == ["digits", "digits-2"] and (table["trials"] == 1).all()
    bundle = studies.classifier.model_.config
    assert table.loc[0, "validation_score"] == pytest.approx(bundle["validation_score"])
    curves = compare.compare_curves(studies.root, ["digits", "digits-2"])
    assert set(curves["study"]) == {"digits", "digits-2"}
    assert set(compare.members(studies.root, ["digits", "digits-2"])["family"]) == {"cnn"}
    require_browser()
    with dashboard(studies.root) as url, chromium() as driver:
        driver.get(url)
        for name in ("digits", "digits-2"):
            box = wait_for(
                driver,
                lambda drv, n=name: drv.find_element(
                    "css selector", f"#compare-pick input[value='{n}']"
                ),
                what=name,
            )
            box.click()
        wait_for(
            driver,
            lambda drv: (
                drv.find_element("id", "compare-link")
                .get_attribute("href")
                .endswith("/compare/digits,digits-2")
            ),
            what="the link",
        )
        driver.find_element("id", "compare-link").click()
        rows = wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#compare-table tbody tr td"),
            what="the comparison",
        )
        assert (
            len(driver.find_elements("css selector", "#compare-table tbody tr")) == 3
        )  # header + 2
        drawn = wait_for(driver, lambda drv: drawn_traces(drv, "fig-compare"), what="the curves")
        assert drawn == ["digits", "digits-2"] and rows


def test_studies_without_predictions_say_why(tmp_path: Path):
    from automl.dashboard.model_view import section_children
    from tests.support.synthetic_study import write_synthetic_study

    write_synthetic_study(tmp_path / "studies" / "old", 3)
    study = d.load_study(tmp_path / "studies" / "old")
    assert m.predictions(study) is None and m.splits(study) == []
    said = section_children(study, {})[0].children
    assert "No predictions recorded for this study yet: the finish records them" in said


def _prepared(X, y=None, **memory):
    from automl.data import from_memory
    from automl.prepare import prepare_data
    from automl.task import detect_task

    dataset = from_memory(X, y, **memory)
    return dataset, prepare_data(dataset, detect_task(dataset), seed=0)


def test_records_sample_large_splits_and_preview_every_kind(tmp_path, monkeypatch):
    """A split past MAX_ROWS is sampled (and says of how many); texts, table rows and series
    have previews of their own kind, reconstructions of series line up with what the network
    saw. (Random outputs: the records do not care how good the model is.)"""
    from automl import model_records
    from automl.study import PREDICTIONS_FILE

    monkeypatch.setattr(model_records, "MAX_ROWS", 50)
    rng = np.random.default_rng(0)

    def record(dataset, prepared, width):
        rows = {"val": prepared.rows["val"]}
        outputs = {"val": rng.normal(size=(len(rows["val"]), *width)).astype(np.float32)}
        inputs = {"val": prepared.data.X_val}
        path = model_records.record_predictions(
            tmp_path, dataset, prepared.task, prepared.preprocessing, rows, outputs, inputs, 0
        )
        return pd.read_parquet(path)

    texts = [
        f"document {i} about {'markets' if i % 2 else 'sport'} and more words" for i in range(400)
    ]
    dataset, prepared = _prepared(texts, np.arange(400) % 2)
    frame = record(dataset, prepared, (2,))
    assert len(frame) == 50 and (frame["rows_in_split"] == 400).all()  # all, out of fold
    assert (frame["preview_kind"] == "text").all()
    assert frame["preview"].iloc[0] == texts[frame["row"].iloc[0]][: model_records.PREVIEW_CHARS]
    view = m.summary(frame.assign(split="val"))
    assert view["of"] == 400

    table = pd.DataFrame({"size": rng.normal(size=100), "city": rng.choice(["a", "b"], 100)})
    dataset, prepared = _prepared(table, rng.normal(size=100))
    frame = record(dataset, prepared, (1,))
    first = json.loads(frame["preview"].iloc[0])
    assert (frame["preview_kind"] == "table").all() and set(first) == {"size", "city"}
    assert first["city"] == table.loc[frame["row"].iloc[0], "city"]

    series = rng.normal(size=(60, 30, 1)).astype(np.float32)
    dataset, prepared = _prepared(series)
    frame = record(dataset, prepared, prepared.task.input_shape)
    seen = np.asarray(json.loads(frame["preview"].iloc[0]))[0]
    assert (frame["preview_kind"] == "series").all() and len(seen) == 30
    np.testing.assert_allclose(seen, series[frame["row"].iloc[0], :, 0], atol=1e-4)
    assert len(json.loads(frame["reconstruction"].iloc[0])[0]) == 30
    assert (tmp_path / PREDICTIONS_FILE).is_file()


def test_a_given_test_split_is_recorded_beside_validation(tmp_path, digits_images):
    from automl.data import load_path
    from automl.options import FitOptions
    from automl.pipeline import fit_dataset
    from tests.support.formats import write_split_images

    images, labels = digits_images
    folder = write_split_images(tmp_path / "pets", images[:300], labels[:300])
    options = FitOptions.parse(
        {
            "budget": "1m",
            "max_trials": 1,
            "max_epochs": 2,
            "studies_dir": tmp_path / "studies",
            "verbose": False,
        }
    )
    result = fit_dataset(load_path(folder), options)
    study = d.load_study(result.study_dir)
    test = m.predictions(study, "test")
    assert m.splits(study) == ["val", "test"] and len(test) == result.model.n_test
    assert test["sample"].str.startswith("test/").all()
    # each row's target is its file's class folder, and the recorded accuracy is the test score
    assert (test["sample"].str.split("/").str[1] == test["target"]).all()
    assert test["correct"].mean() == pytest.approx(result.model.test_score)
