"""The dashboard as a user sees it: `automl dashboard` over a live search, in headless Chromium.

A synthetic study grows in a background thread for the module, as a running search would: it
claims the study (driver.json) and adds a trial every few tenths of a second. The first test
watches it live; the others use the finished study. (A real `automl fit` beside Chromium took
a minute and was flaky on a loaded 2-core machine; the searcher has its own tests.)
"""

from __future__ import annotations

import json
import re
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from automl import cli
from automl.dashboard import data as study_data
from automl.study import load_trials
from tests.support.browser import (
    FIGURES,
    chromium,
    dashboard,
    figures_with_data,
    open_offline,
    require_browser,
    wait_for,
)
from tests.support.synthetic_study import grow_synthetic_study

pytestmark = pytest.mark.slow

N_TRIALS = 16  # one every EVERY_S once the page watches: about 5 s of live search
EVERY_S = 0.3


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    studies = tmp_path_factory.mktemp("dashboard") / "studies"
    state = SimpleNamespace(
        studies=studies,
        study=studies / "cancer",
        stop=threading.Event(),
        watched=threading.Event(),  # the trials after the first wait for it
        started=threading.Event(),  # the first trial is in
        error=None,
    )

    def grow():
        try:
            grow_synthetic_study(
                state.study, N_TRIALS, seed=0, every_s=EVERY_S, stop=state.stop,
                watched=state.watched, started=state.started,
            )  # fmt: skip
        except BaseException:  # noqa: BLE001 - reported by finished() and the live test
            state.error = traceback.format_exc()

    state.thread = threading.Thread(target=grow, name="synthetic-search", daemon=True)
    state.thread.start()
    _wait_until(
        lambda: state.started.is_set() or not state.thread.is_alive(),
        timeout=60,
        why=lambda: f"the synthetic study did not start:\n{state.error}",
    )
    yield state
    state.stop.set()
    state.watched.set()
    state.thread.join(timeout=30)


def finished(search) -> SimpleNamespace:
    search.watched.set()  # a test that does not watch it lets it run to the end
    search.thread.join(timeout=120)
    assert not search.thread.is_alive(), "the synthetic search did not end"
    assert search.error is None, search.error
    return search


def trial_count(driver) -> int:
    return int(driver.find_element("id", "trial-count").text.replace(",", ""))


def test_live_then_every_view_and_a_chosen_trial(search, tmp_path):
    require_browser()
    with dashboard(search.studies) as url, chromium() as driver:
        _wait_until(
            lambda: (search.study / "config.json").is_file(),
            timeout=60,
            why=lambda: f"the search did not start:\n{search.error}",
        )
        driver.get(f"{url}/study/cancer")
        wait_for(driver, lambda d: d.find_element("id", "trial-count"), what="the study page")
        driver.execute_script("window.notReloaded = true")
        seen = trial_count(driver)
        assert search.thread.is_alive(), "the search ended before the page was watched"
        search.watched.set()  # the page watches: the search goes on
        # live: the count grows while the search runs, without a reload
        grown = wait_for(driver, lambda d: trial_count(d) > seen, timeout=40, what="new trials")
        assert grown and driver.execute_script("return window.notReloaded === true")
        assert "search running" in driver.find_element("id", "search-state").text

        finished(search)
        total = len(load_trials(search.study))
        assert total == N_TRIALS
        wait_for(driver, lambda d: trial_count(d) == total, timeout=20, what=f"{total} trials")
        wait_for(
            driver,
            lambda d: "no search running" in d.find_element("id", "search-state").text,
            timeout=20,
        )
        assert driver.execute_script("return window.notReloaded === true")
        reason = driver.find_element("id", "task-reason").text
        assert "classification" in reason and "mlp, dbn" in reason
        selection = driver.find_element("id", "selection").text
        assert "5-fold cross-validation" in selection and "synthetic: 500 rows" in selection
        # the best trials are scored: each shows its folds' spread
        spreads = [float(c.text) for c in _column(driver, "score_spread")[:3]]
        assert len(spreads) == 3 and all(0 < s <= 0.05 for s in spreads)

        # every view, with data; importance only where the shown family has enough trials
        study = study_data.load_study(search.study)
        title = wait_for(driver, lambda d: _figure_title(d, "fig-importance"), what="importance")
        family = re.search(r"importance, (\w+)", title)[1]
        expected = {fig: True for fig in FIGURES}
        expected["fig-importance"] = not study_data.importance(study, family).empty
        wait_for(
            driver,
            lambda d: figures_with_data(d) == expected,
            what=lambda d: f"{expected}; shown: {figures_with_data(d)}",
        )
        assert len(_column(driver, "trial")) == min(15, total)  # the first page

        # choose the third trial of the leaderboard: its architecture and curve follow
        trial = _choose_row(driver, 2)
        wait_for(
            driver,
            lambda d: d.find_element("id", "trial-title").text.startswith(f"Trial {trial}"),
            what=f"trial {trial}'s details",
        )
        wait_for(driver, lambda d: f"trial {trial}" in _figure_title(d, "fig-architecture"))
        summary = json.loads((search.study / "trials" / str(trial) / "summary.json").read_text())
        layers = driver.find_elements("css selector", "#architecture-table tbody tr")
        assert len(layers) - 1 == min(12, len(summary["layers"]))  # a header row; pages of 12
        names = driver.execute_script(
            "return document.querySelector('#fig-curves .js-plotly-plot').data.map(t => t.name)"
        )
        assert any(n.startswith(f"trial {trial} ") for n in names), names
        assert figures_with_data(driver, ["fig-architecture", "fig-curves"]) == {
            "fig-architecture": True,
            "fig-curves": True,
        }

        # the leaderboard sorts and filters on the server
        _filter(driver, "family", "dbn")
        wait_for(
            driver,
            lambda d: {c.text for c in _column(d, "family")} == {"dbn"},
            what="only dbn rows",
        )
        driver.save_screenshot(str(tmp_path / "study.png"))
        assert (tmp_path / "study.png").stat().st_size > 50_000


def test_report_opens_offline_with_every_figure(search, tmp_path, capsys):
    require_browser()
    finished(search)
    report = tmp_path / "report.html"
    code = cli.main(["report", "cancer", "--studies-dir", str(search.studies), "-o", str(report)])
    assert code == 0, capsys.readouterr().err
    with chromium() as driver:
        plots = open_offline(driver, report)
        # best so far, families, size and latency fronts, curves, architecture, 2 per family
        assert len(plots) >= 9, plots
        # a family's importance is empty only where its scored trials are too few to rank
        study = study_data.load_study(search.study)
        empty = {
            f"Parameter importance, {family} (variance explained)"
            for family in study.trials["family"].unique()
            if study_data.importance(study, family).empty
        }
        assert {title for title, drawn in plots.items() if not drawn} == empty, plots
        assert "cancer" in driver.title
        driver.save_screenshot(str(tmp_path / "report.png"))


SECRET = "the-secret-next-to-the-studies-dir"


def test_read_only_local_and_confined_to_its_folder(search, tmp_path):
    """No request reaches a file outside the studies dir; nothing in it changes; only this
    machine can connect."""
    from tests.support.files import files_of

    finished(search)
    (search.studies.parent / "secret.txt").write_text(SECRET)
    (search.studies / "not-a-study").mkdir(exist_ok=True)
    (search.studies / "not-a-study" / "config.txt").write_text(SECRET)
    before = files_of(search.studies)
    with dashboard(search.studies) as url:
        port = urllib.parse.urlsplit(url).port
        assert _listening_addresses(port) == ["127.0.0.1"]
        for name in (
            "../secret.txt",
            "..%2Fsecret.txt",
            "%2e%2e/secret.txt",
            "cancer/../../secret.txt",
            "/etc/passwd",
            "not-a-study",
            "..",
        ):
            page = _callback(url, "page.children", "url", "pathname", f"/study/{name}")
            assert "No study named" in page and SECRET not in page, name
        ok = _callback(url, "page.children", "url", "pathname", "/study/cancer")
        assert "Study cancer" in ok
        # a forged trial number is refused, not looked up as a path
        forged = _callback(
            url,
            "..trial-title.children...fig-architecture.figure...architecture-table.data"
            "...fig-curves.figure..",
            "current-trial",
            "data",
            "../../secret",
            extra_inputs=[
                {"id": "leaderboard", "property": "selected_row_ids", "value": None},
                {"id": "version", "property": "data", "value": None},
            ],
            state=[
                {"id": "rendered", "property": "data", "value": None},
                {"id": "url", "property": "pathname", "value": "/study/cancer"},
            ],
        )
        assert SECRET not in forged
        for path in (
            "/assets/../secret.txt",
            "/assets/..%2Fsecret.txt",
            "/_dash-component-suites/dash/..%2F..%2F..%2Fsecret.txt",
            "/static/..%2F..%2Fsecret.txt",
            "/study/..%2F..%2Fsecret.txt",
        ):
            assert SECRET not in _get(url + path), path
    assert files_of(search.studies) == before


# --------------------------------------------------------------------------- helpers


def _choose_row(driver, index: int) -> int:
    cells = wait_for(driver, lambda d: _column(d, "trial"), what="the leaderboard")
    cell = cells[index]
    trial = int(cell.text)
    cell.click()
    return trial


def _column(driver, column_id: str) -> list:
    return driver.find_elements(
        "css selector", f"#leaderboard td[data-dash-column='{column_id}']:not(.dash-filter)"
    )


def _filter(driver, column_id: str, text: str) -> None:
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(
        "css selector", f"#leaderboard th.dash-filter[data-dash-column='{column_id}'] input"
    )
    box.click()
    box.send_keys(text + Keys.ENTER)


def _figure_title(driver, figure_id: str) -> str:
    return driver.execute_script(
        f"const p = document.querySelector('#{figure_id} .js-plotly-plot');"
        "return p && p._fullLayout ? p._fullLayout.title.text : ''"
    )


def _listening_addresses(port: int) -> list[str]:
    """The local addresses with a socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":  # LISTEN
                if len(address) == 8:
                    found.append(".".join(str(b) for b in reversed(bytes.fromhex(address))))
                else:
                    found.append(address)
    return found


def _get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.read().decode("utf-8", "replace")


def _callback(
    url: str,
    output: str,
    component: str,
    prop: str,
    value,
    extra_inputs: list | None = None,
    state: list | None = None,
) -> str:
    """POST a callback request as the page would, with any value a forger likes."""
    outputs = [
        {"id": o.split(".")[0], "property": o.split(".")[1]}
        for o in re.findall(r"[\w-]+\.[\w]+", output)
    ]
    body = {
        "output": output,
        "outputs": outputs if len(outputs) > 1 else outputs[0],
        "inputs": [{"id": component, "property": prop, "value": value}, *(extra_inputs or [])],
        "changedPropIds": [f"{component}.{prop}"],
        "state": state or [],
    }
    request = urllib.request.Request(
        f"{url}/_dash-update-component",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}: " + exc.read().decode("utf-8", "replace")


def _wait_until(condition, timeout: float, why) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, why()
        time.sleep(0.2)
