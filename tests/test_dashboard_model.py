"""The model view: what the finish records of the exported model's predictions, the frames
and figures drawn from them, and the study page's model section in headless Chromium.

Three real small studies (one-trial searches, in process): digits as images (a classifier),
diabetes as a table (a regressor), digits without labels (an autoencoder).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_diabetes, load_digits

from automl import AutoDeep, AutoDeepClassifier, AutoDeepRegressor
from automl.dashboard import data as d
from automl.dashboard import model_data as m
from automl.dashboard import model_figures as mf
from automl.dashboard.report import write_report
from tests.support.browser import chromium, dashboard, open_offline, require_browser, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def studies(tmp_path_factory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("model-view") / "studies"
    options = dict(budget="1m", max_trials=1, max_epochs=4, random_state=0, verbose=False)
    digits = load_digits()
    images, labels = digits.images.astype(np.float32)[:600], digits.target[:600]
    classifier = AutoDeepClassifier(studies_dir=root, study="digits", families=["cnn"], **options)
    classifier.fit(images, labels)
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    AutoDeepRegressor(studies_dir=root, study="diabetes", **options).fit(X, y)
    unlabelled = AutoDeep(studies_dir=root, study="shapes", families=["autoencoder"], **options)
    unlabelled.fit(images / 16)
    return SimpleNamespace(root=root, classifier=classifier, images=images, labels=labels)


def decoded(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,"), uri[:40]
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_the_finish_records_held_out_predictions_with_previews(studies):
    study = d.load_study(studies.root / "digits")
    frame = m.predictions(study)
    bundle = studies.classifier.model_.config
    # the validation rows, predicted before any refit: their accuracy is the recorded score
    assert len(frame) == 120 and frame["correct"].mean() == pytest.approx(
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
        assert "the mistakes, most confidently wrong first" in _gallery_caption(driver)
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


def test_regression_and_unlabelled_views_and_the_report(studies, tmp_path):
    require_browser()
    with dashboard(studies.root) as url, chromium() as driver:
        driver.get(f"{url}/study/diabetes")
        wait_for(
            driver,
            lambda drv: drv.find_elements("css selector", "#fig-predicted .js-plotly-plot"),
            what="the regression view",
        )
        assert "the largest errors first" in _gallery_caption(driver)
        assert "mae" in driver.find_element("id", "model-summary").text
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


def test_studies_without_predictions_say_why(tmp_path: Path):
    from tests.support.synthetic_study import write_synthetic_study

    write_synthetic_study(tmp_path / "studies" / "old", 3)
    study = d.load_study(tmp_path / "studies" / "old")
    assert m.predictions(study) is None and m.splits(study) == []
