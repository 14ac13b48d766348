"""Headless Chromium (Debian's `chromium` and `chromium-driver`) for the dashboard's tests, and
the dashboard run as a user runs it: `automl dashboard DIR` in its own process.

Without the browser the tests skip, unless AUTOML_REQUIRE_BROWSER=1 (CI) makes that a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]  # the checkout
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

# Every figure of a study page, and whether it must have data once a search has finished.
FIGURES = (
    "fig-best",
    "fig-families",
    "fig-pareto",
    "fig-architecture",
    "fig-curves",
    "fig-parallel",
    "fig-importance",
)

# Whether each figure (by element id) shows data, as Plotly drew it: a trace with points (or
# the architecture's boxes), not the empty figure with a note that `figures.empty_figure` draws.
FIGURES_WITH_DATA_JS = """
return arguments[0].map(id => {
    const plot = document.querySelector('#' + id + ' .js-plotly-plot');
    if (!plot || !plot._fullData) return false;
    return plot._fullData.some(t => t.visible !== false && t._length > 0)
        || (plot._fullLayout.shapes || []).length > 0;
});
"""


def require_browser() -> None:
    if browser_installed():
        return
    why = "headless Chromium is not installed (apt-get install chromium chromium-driver)"
    if os.environ.get("AUTOML_REQUIRE_BROWSER") == "1":
        pytest.fail(why)
    pytest.skip(why)


@contextmanager
def chromium(width: int = 1400, height: int = 2600) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard(studies_dir: Path, *args: str) -> Iterator[str]:
    """`automl dashboard STUDIES_DIR` on a free port; its base URL once it answers."""
    port = free_port()
    log = studies_dir.parent / f"dashboard-{port}.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "automl", "dashboard", str(studies_dir), "--port", str(port), *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"the dashboard did not start:\n{log.read_text()}"
                    ) from None
                time.sleep(0.2)
        process.log = log  # type: ignore[attr-defined]
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_for(driver, condition, timeout: float = 30, poll: float = 0.05, what: Any = ""):
    """Poll `condition(driver)` until it returns a true value; that value. `what` names what
    is awaited in the error, or is called with the driver to describe what the page shows."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition(driver)
        except Exception:  # noqa: BLE001 - the page is still being built
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            shown = what(driver) if callable(what) else what or condition
            raise AssertionError(f"timed out after {timeout} s waiting for {shown}")
        time.sleep(poll)


def browser_installed() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


def open_offline(driver, html: Path) -> dict[str, bool]:
    """Open a report file with the network off; each figure's title and whether it shows
    data, once Plotly has drawn them all."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd(
        "Network.emulateNetworkConditions",
        {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
    )
    driver.get(html.as_uri())
    plots = wait_for(
        driver,
        lambda d: d.execute_script(
            "const p = [...document.querySelectorAll('.js-plotly-plot')];"
            "return p.length && p.every(g => g._fullLayout) ? p.map(g => [g._fullLayout.title.text,"
            " g._fullData.some(t => t._length > 0) || g._fullLayout.shapes.length > 0]) : null"
        ),
        what="the report's figures",
    )
    return dict(plots)


def figures_with_data(driver, ids=FIGURES) -> dict[str, bool]:
    return dict(zip(ids, driver.execute_script(FIGURES_WITH_DATA_JS, list(ids)), strict=True))
