"""One small real table (iris, with a city and a date column) saved the ways people save
tables: encodings, separators, decimal marks, Excel workbooks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris

ENCODINGS = ("utf-8", "utf-8-sig", "cp1252")
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = {".": "point", ",": "comma"}
# Every one of these is a Windows-1252 character, and none is ASCII.
CITIES = ("Genève", "Zürich", "Malmö", "São Paulo", "Kraków", "Besançon")
XLS_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tables" / "iris_cities.xls"


def spreadsheet_frame() -> pd.DataFrame:
    """iris's 150 rows: 4 measurements (decimals), a city (accented text), the day measured
    (a date) and the species as `label`."""
    iris = load_iris(as_frame=True)
    frame = iris.data.rename(columns=lambda c: c.replace(" (cm)", ""))
    rng = np.random.default_rng(0)
    frame["city"] = rng.choice(CITIES, len(frame))
    days = pd.to_timedelta(rng.integers(0, 700, len(frame)), unit="D")
    frame["measured"] = pd.Timestamp("2021-01-01") + days
    frame["label"] = iris.target_names[iris.target]
    return frame


def write_delimited(
    frame: pd.DataFrame, path: Path, encoding: str = "utf-8", sep: str = ",", decimal: str = "."
) -> Path:
    """As a spreadsheet's 'save as CSV' writes it; a decimal comma in a ','-separated file is
    quoted, as the csv module does."""
    text = frame.to_csv(index=False, sep=sep, decimal=decimal, date_format="%Y-%m-%d")
    path.write_bytes(text.encode(encoding))
    return path


def write_variants(frame: pd.DataFrame, folder: Path) -> dict[str, Path]:
    """Every encoding x separator x decimal mark, and an .xlsx workbook, by a readable name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for encoding in ENCODINGS:
        for sep, sep_name in SEPARATORS.items():
            for decimal, decimal_name in DECIMALS.items():
                name = f"{encoding}-{sep_name}-decimal_{decimal_name}"
                files[name] = write_delimited(frame, folder / f"{name}.csv", encoding, sep, decimal)
    files["xlsx"] = folder / "workbook.xlsx"
    frame.to_excel(files["xlsx"], index=False, sheet_name="measurements")
    return files
