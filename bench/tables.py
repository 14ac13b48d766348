"""What reading tables as people save them costs: `automl.data.read_table` (encoding, separator
and decimal marks detected, malformed rows checked, dates parsed) against pandas told the
answers by hand, on the same file in the same process.

    python bench/run.py table_reading

Files: 200 000 rows x 16 numbers, a city, a date and a label (about 30 MB), written plain
(UTF-8, ',', decimal points, ISO dates) and European (Windows-1252, ';', decimal commas,
day-first dates); and 20 000 rows of it as an .xlsx workbook, against pandas' default .xlsx
reader (openpyxl). Each frame read by automl must equal the plain file's.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 200_000
WORKBOOK_ROWS = 20_000
REPEATS = 3


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 16)).round(4), columns=[f"x{i}" for i in range(16)])
    frame["city"] = rng.choice(["Genève", "Zürich", "Malmö", "São Paulo", "Kraków"], rows)
    frame["day"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D")
    frame["label"] = rng.choice(["a", "b", "c"], rows)
    return frame


def _best_of(read) -> tuple[float, pd.DataFrame]:
    times, frame = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        frame = read()
        times.append(time.perf_counter() - started)
    return min(times), frame


def _row(dataset: str, system: str, read_s: float, baseline_s: float, size_mb: float) -> dict:
    return {
        "dataset": dataset,
        "metric": "read time",
        "budget": "-",
        "system": system,
        "read_s": read_s,
        "baseline_s": baseline_s,
        "ratio": read_s / baseline_s,
        "size_mb": size_mb,
    }


def bench_table_reading(runs_dir: Path, budget: str, baseline: bool) -> list[dict]:
    from automl.data import read_table

    folder = runs_dir / "table_reading"
    folder.mkdir(parents=True, exist_ok=True)
    frame = _frame(ROWS)
    plain = folder / "plain.csv"
    frame.to_csv(plain, index=False, date_format="%Y-%m-%d")
    european = folder / "european.csv"
    text = frame.to_csv(index=False, sep=";", decimal=",", date_format="%d/%m/%Y")
    european.write_bytes(text.encode("cp1252"))

    ours, expected = _best_of(lambda: read_table(plain)[0])
    told, _ = _best_of(lambda: pd.read_csv(plain, parse_dates=["day"], date_format="%Y-%m-%d"))
    rows = [
        _row(
            f"{ROWS // 1000}k rows, UTF-8 ','",
            "automl read_table vs pandas.read_csv told the date format",
            ours,
            told,
            plain.stat().st_size / 1e6,
        )
    ]
    ours, read = _best_of(lambda: read_table(european)[0])
    pd.testing.assert_frame_equal(read, expected, check_dtype=False)
    told, _ = _best_of(
        lambda: pd.read_csv(
            european,
            sep=";",
            decimal=",",
            encoding="cp1252",
            parse_dates=["day"],
            date_format="%d/%m/%Y",
        )
    )
    rows.append(
        _row(
            f"{ROWS // 1000}k rows, Windows-1252 ';' decimal commas",
            "automl read_table (detected) vs pandas.read_csv told all of it",
            ours,
            told,
            european.stat().st_size / 1e6,
        )
    )
    workbook = folder / "workbook.xlsx"
    frame.head(WORKBOOK_ROWS).to_excel(workbook, index=False)
    ours, read = _best_of(lambda: read_table(workbook)[0])
    pd.testing.assert_frame_equal(read, expected.head(WORKBOOK_ROWS), check_dtype=False)
    told, _ = _best_of(lambda: pd.read_excel(workbook))
    rows.append(
        _row(
            f"{WORKBOOK_ROWS // 1000}k rows, .xlsx",
            "automl read_table (calamine) vs pandas.read_excel (openpyxl)",
            ours,
            told,
            workbook.stat().st_size / 1e6,
        )
    )
    return rows
