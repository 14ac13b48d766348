"""The dashboard at scale: a 5 000-trial study's page, rendered in headless Chromium.

    python bench/run.py dashboard_scale

The study is written through Optuna's API (tests/synthetic_study.py: every trial with its
parameters, per-epoch scores, size, latency, times and a summary.json) once, into
bench/runs/dashboard/. Each measurement starts a new `automl dashboard` process (nothing read
yet) and a new browser, and times inside the page (performance.now(), sampled every 10 ms)
until every figure shows data and the leaderboard has rows:
- from the index: the studies page loaded, then a click on the study's link (how a user
  arrives; the index page has already read each study's trials for its overview);
- direct: a fresh browser opening the study's URL, so Dash's and Plotly's scripts (4.8 MB)
  are fetched and compiled first (the server has started reading the studies when it
  started, as it always does).
The direct case is set beside its floor, timed the same way in the same session: a Dash app
with one two-point graph. Also timed, in this process: reading the trials through Optuna's API
and through the dashboard's reader.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import (  # noqa: E402
    FIGURES,
    FIGURES_WITH_DATA_JS,
    chromium,
    dashboard,
    require_browser,
    wait_for,
)
from tests.support.synthetic_study import write_synthetic_study  # noqa: E402

N_TRIALS = 5000
REPEATS = 3

# Installed before the page's own scripts: records when each figure first shows data and
# when the leaderboard first has rows, every 10 ms, in the page's own clock.
WATCHER = """
window.__ready = {};
const ids = %s;
const check = new Function('arguments', %r);
setInterval(() => {
  const now = performance.now();
  try {
    check([ids]).forEach((ok, i) => { if (ok && !(ids[i] in window.__ready)) window.__ready[ids[i]] = now; });
  } catch (e) {}
  if (!('table' in window.__ready) && document.querySelector('#leaderboard td')) window.__ready.table = now;
}, 10);
"""


def _ready(driver) -> dict | None:
    ready = driver.execute_script("return window.__ready")
    return ready if ready and len(ready) == len(FIGURES) + 1 else None


def _watch(driver, ids=FIGURES) -> None:
    """Install WATCHER in every page this browser opens, before the page's own scripts."""
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {"source": WATCHER % (list(ids), FIGURES_WITH_DATA_JS)},
    )


def render_from_index(studies: Path, name: str) -> float:
    with dashboard(studies) as url, chromium() as driver:
        _watch(driver)
        driver.get(f"{url}/")
        link = wait_for(driver, lambda d: d.find_element("link text", name), timeout=120)
        time.sleep(1)  # the index settled
        clicked = driver.execute_script(
            "window.__ready = {}; const t = performance.now(); arguments[0].click(); return t",
            link,
        )
        ready = wait_for(driver, _ready, timeout=60, what="the study page")
        return (max(ready.values()) - clicked) / 1000


def render_direct(studies: Path, name: str) -> float:
    with dashboard(studies) as url, chromium() as driver:
        _watch(driver)
        driver.get(f"{url}/study/{name}")
        ready = wait_for(driver, _ready, timeout=60, what="the study page")
        return max(ready.values()) / 1000  # from the navigation's start


def render_trivial_dash() -> float:
    """The floor of the direct case: a Dash app with one two-point graph (no study), opened in
    a fresh browser and timed the same way: what fetching and compiling Dash's and Plotly's
    scripts costs on this machine."""
    import threading

    import plotly.graph_objects as go
    from dash import Dash, dcc

    from tests.support.browser import free_port

    app = Dash(__name__, eager_loading=True)
    app.layout = dcc.Graph(id="fig-best", figure=go.Figure(go.Scatter(x=[1, 2], y=[1, 2])))
    port = free_port()
    threading.Thread(target=lambda: app.run(port=port), daemon=True).start()
    time.sleep(1)
    with chromium() as driver:
        _watch(driver, ["fig-best"])
        driver.get(f"http://127.0.0.1:{port}/")
        ready = wait_for(
            driver, lambda d: d.execute_script("return window.__ready['fig-best']"), timeout=60
        )
        return ready / 1000


def reader_seconds(study_dir: Path) -> tuple[float, float]:
    from automl.dashboard import data
    from automl.study import load_trials

    started = time.perf_counter()
    load_trials(study_dir)
    optuna_s = time.perf_counter() - started
    started = time.perf_counter()
    data.read_study(study_dir)
    return optuna_s, time.perf_counter() - started


def bench_dashboard_scale(runs_dir: Path) -> list[dict]:
    require_browser()
    studies = runs_dir / "dashboard" / "studies"
    study_dir = studies / "scale"
    if not (study_dir / "study.db").is_file():
        print(f"writing {N_TRIALS} trials through Optuna's API (about 80 s) ...", flush=True)
        write_synthetic_study(study_dir, N_TRIALS)
    optuna_s, reader_s = reader_seconds(study_dir)
    from_index = [render_from_index(studies, "scale") for _ in range(REPEATS)]
    direct = [render_direct(studies, "scale") for _ in range(REPEATS)]
    floor = [render_trivial_dash() for _ in range(REPEATS)]
    common = {"dataset": f"synthetic study, {N_TRIALS} trials", "budget": "-"}
    return [
        {
            **common,
            "system": f"dashboard: study page from the index (in-page, median of {REPEATS})",
            "metric": "render_s",
            "render_s": statistics.median(from_index),
            "render_s_all": from_index,
        },
        {
            **common,
            "system": f"dashboard: study URL in a fresh browser (median of {REPEATS})",
            "metric": "render_s",
            "render_s": statistics.median(direct),
            "render_s_all": direct,
            "baseline_s": statistics.median(floor),
            "baseline": "a Dash app with one two-point graph, fresh browser, same session",
        },
        {
            **common,
            "system": "read the trials: the dashboard's reader vs Optuna's API, same process",
            "metric": "read_s",
            "render_s": reader_s,
            "baseline_s": optuna_s,
        },
    ]


# ----------------------------------------------------------------------------- the model view

MODEL_ROWS = 5000
MODEL_FIGURES = ["fig-confusion", "fig-roc", "fig-pr", "fig-calibration"]
# A heatmap has no _length: a figure shows data when a trace has points or cells.
MODEL_FIGURES_WITH_DATA_JS = """
return arguments[0].map(id => {
    const plot = document.querySelector('#' + id + ' .js-plotly-plot');
    if (!plot || !plot._fullData) return false;
    return plot._fullData.some(t => t.visible !== false && (t._length > 0 || (t.z && t.z.length > 0)));
});
"""
# Also records when the gallery first shows a decoded picture.
GALLERY_WATCHER = """
setInterval(() => {
  const img = document.querySelector('#gallery img');
  if (window.__ready && !('gallery' in window.__ready) && img && img.complete && img.naturalWidth > 0)
    window.__ready.gallery = performance.now();
}, 10);
"""


def write_model_view_study(study_dir: Path) -> None:
    """A 20-trial synthetic study whose predictions.parquet holds 5 000 validation rows: digits
    (repeated) with a logistic regression's probabilities, written by the finish's own code."""
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    from automl.data import from_memory
    from automl.model_records import record_predictions
    from automl.prepare import prepare_data
    from automl.task import detect_task

    write_synthetic_study(study_dir, 20)
    digits = load_digits()
    n = 5 * MODEL_ROWS  # a fifth validates
    repeats = -(-n // len(digits.target))
    images = np.tile(digits.images, (repeats, 1, 1))[:n].astype(np.float32)
    labels = np.tile(digits.target, repeats)[:n]
    dataset = from_memory(images, labels)
    prepared = prepare_data(dataset, detect_task(dataset, families=["cnn"]), seed=0)
    rows = {"val": prepared.rows["val"][:MODEL_ROWS]}
    flat = images.reshape(len(images), -1)
    model = LogisticRegression(max_iter=200).fit(
        flat[prepared.rows["train"][:500]], labels[prepared.rows["train"][:500]]
    )
    logits = np.log(model.predict_proba(flat[rows["val"]]) + 1e-9).astype(np.float32)
    record_predictions(
        study_dir, dataset, prepared.task, prepared.preprocessing, rows, {"val": logits},
        {"val": prepared.data.X_val[:MODEL_ROWS]}, seed=0,
    )  # fmt: skip


def render_model_view(studies: Path, name: str) -> float:
    """From a click on the study's link in the index until the model view's figures show
    data and its gallery shows a decoded picture."""
    with dashboard(studies) as url, chromium() as driver:
        driver.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument",
            {"source": WATCHER % (MODEL_FIGURES, MODEL_FIGURES_WITH_DATA_JS) + GALLERY_WATCHER},
        )
        driver.get(f"{url}/")
        link = wait_for(driver, lambda d: d.find_element("link text", name), timeout=120)
        time.sleep(1)
        clicked = driver.execute_script(
            "window.__ready = {}; const t = performance.now(); arguments[0].click(); return t",
            link,
        )

        def ready(d):
            marks = d.execute_script("return window.__ready")
            wanted = [*MODEL_FIGURES, "gallery"]
            return marks if marks and all(k in marks for k in wanted) else None

        marks = wait_for(driver, ready, timeout=60, what="the model view")
        return (max(marks[k] for k in [*MODEL_FIGURES, "gallery"]) - clicked) / 1000


def bench_model_view(runs_dir: Path) -> list[dict]:
    require_browser()
    studies = runs_dir / "model_view" / "studies"
    study_dir = studies / "predictions"
    if not (study_dir / "predictions.parquet").is_file():
        import shutil

        shutil.rmtree(study_dir, ignore_errors=True)
        write_model_view_study(study_dir)
    times = [render_model_view(studies, "predictions") for _ in range(REPEATS)]
    return [
        {
            "dataset": f"{MODEL_ROWS} validation rows (digits, 10 classes)",
            "budget": "-",
            "system": f"dashboard: model view from the index, figures and gallery (median of {REPEATS})",
            "metric": "render_s",
            "render_s": statistics.median(times),
            "render_s_all": times,
        }
    ]
