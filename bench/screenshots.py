"""Screenshots of the dashboard's model views and comparison page, for the README.

    python bench/screenshots.py            # writes docs/screenshots/*.png

Builds small real studies (tests/support/model_studies.py: one-trial searches, about half a
minute in all), serves them with `automl dashboard` and photographs each view in headless
Chromium (Debian's chromium + chromium-driver).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import chromium, dashboard, require_browser, wait_for  # noqa: E402
from tests.support.model_studies import write_model_studies  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
VIEWS = {  # file name: (page, element photographed, element awaited)
    "model-classification": ("/study/digits", "model-section", "#gallery img"),
    "model-regression": ("/study/diabetes", "model-section", "#fig-predicted .js-plotly-plot"),
    "model-forecast": ("/study/sales", "model-section", "#fig-forecast .js-plotly-plot"),
    "model-unlabelled": ("/study/shapes", "model-section", "#gallery img.sample-reconstruction"),
    "compare": ("/compare/digits,digits-2", "page", "#fig-compare .js-plotly-plot"),
}


def main() -> None:
    require_browser()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        studies = write_model_studies(Path(tmp) / "studies").root
        with dashboard(studies) as url, chromium(width=1300, height=3000) as driver:
            for name, (page, element, awaited) in VIEWS.items():
                driver.get(url + page)
                wait_for(
                    driver, lambda d, a=awaited: d.find_elements("css selector", a), what=awaited
                )
                time.sleep(1.5)  # let Plotly finish its transitions
                target = driver.find_element("id", element)
                target.screenshot(str(OUT / f"{name}.png"))
                print(f"wrote {OUT / name}.png")


if __name__ == "__main__":
    main()
