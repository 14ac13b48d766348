"""Forecasting benchmark: `automl fit --horizon H` against statistical anchors, each series'
last H values held out. Registered in bench/run.py:

    python bench/run.py forecasting                    # all five datasets, automl + anchors
    python bench/run.py forecasting --anchors-only     # anchors only (--no-baseline: automl only)
    python bench/run.py forecast_shampoo --budget 2m   # one dataset; also forecast_co2,
    python bench/run.py forecast_m1 --budget 5m        # forecast_sunspots, forecast_lynx

Budgets: 2m a single series, 5m M1; --budget sets the single-series one (M1's when
forecast_m1 runs alone). MASE: scaled by the given part's mean absolute m-step difference
(m = 12 monthly, 1 yearly); sMAPE in %; M1: means over its series. Coverage: share of held-out
values inside the 80 % interval (automl: [q10, q90]). Seasonal naive uses the data's cycle
(12 monthly, 11 sunspots, 10 Lynx); ETS fits a season on monthly data only (the yearly
cycles have no fixed length). A failing anchor falls back to naive on that series (counted).

Sources: pip download --no-deps aeon==1.6.0 -d bench/runs/sources (ShampooSales, Lynx, M1
yearly .tsf); pip install -e .[bench] (statsmodels 0.15.0: the anchors, co2, sunspots).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SOURCES = BENCH / "runs" / "sources"
DATA = BENCH / "runs" / "data"
SINGLE_BUDGET = "2m"
M1_BUDGET = "5m"
METRIC = "MASE, sMAPE, 80 % coverage"
AUTOML = "automl (Ray Tune + Optuna)"
SIMULATIONS = 1_000  # paths behind an ETS interval
SARIMA_LONG = 30  # given values that admit the yearly (2,1,2) candidates
DIVERGED = 100  # a forecast beyond this many times the given part's largest |value| failed

# (point forecast, 80 % bounds as a (2, H) array or None)
Forecast = tuple[np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class Problem:
    """Series to forecast (id -> values indexed by time: dates or integer years)."""

    key: str  # forecast_<key> in bench/run.py
    label: str
    series: dict[str, pd.Series]
    horizon: int
    monthly: bool
    cycle: int  # the period of seasonal naive; 1: none

    @property
    def m(self) -> int:
        """The MASE lag, and the season of the statsmodels anchors."""
        return 12 if self.monthly else 1

    def splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        h = self.horizon
        return [(s.to_numpy(float)[:-h], s.to_numpy(float)[-h:]) for s in self.series.values()]


def _aeon(relpath: str) -> str:
    from datasets import _aeon_file  # bench/datasets.py, beside this script

    return _aeon_file(relpath, SOURCES).decode()


def shampoo() -> Problem:
    """ShampooSales: 36 months (aeon's dates, 1991-1993), the last 6 held out."""
    frame = pd.read_csv(io.StringIO(_aeon("ShampooSales/ShampooSales.csv")))
    index = pd.to_datetime(frame["Time"], format="%Y-%m").dt.strftime("%Y-%m-%d")
    values = pd.Series(frame["Sales"].to_numpy(float), index=index)
    return Problem("shampoo", "ShampooSales monthly, last 6", {"shampoo": values}, 6, True, 12)


def co2() -> Problem:
    """Mauna Loa CO2 1958-2001: weekly means to monthly means, empty months interpolated."""
    import statsmodels.api as sm

    monthly = sm.datasets.co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    values = pd.Series(monthly.to_numpy(), index=monthly.index.strftime("%Y-%m-%d"))
    return Problem("co2", "co2 monthly (Mauna Loa), last 12", {"co2": values}, 12, True, 12)


def sunspots() -> Problem:
    """Yearly sunspot numbers 1700-2008, the last 11 years (one solar cycle) held out."""
    import statsmodels.api as sm

    frame = sm.datasets.sunspots.load_pandas().data
    values = pd.Series(frame["SUNACTIVITY"].to_numpy(float), index=frame["YEAR"].astype(int))
    return Problem("sunspots", "sunspots yearly, last 11", {"sunspots": values}, 11, False, 11)


def lynx() -> Problem:
    """Canadian lynx trappings 1821-1934, the last 10 years held out (raw counts)."""
    frame = pd.read_csv(io.StringIO(_aeon("Lynx/Lynx.csv")), index_col=0)
    values = pd.Series(frame.iloc[:, 0].to_numpy(float), index=frame.index.astype(int))
    return Problem("lynx", "Lynx yearly, last 10", {"lynx": values}, 10, False, 10)


def m1() -> Problem:
    """M1 yearly: 181 series of 15-58 years from the Monash .tsf file (header lines start with
    @ or #, then one `name:start_timestamp:v1,v2,...` line per series), the last 6 held out."""
    series = {}
    for line in _aeon("m1_yearly_dataset/m1_yearly_dataset.tsf").splitlines():
        if not line.strip() or line.startswith(("@", "#")):
            continue
        name, start, values = line.split(":")
        numbers = np.asarray(values.split(","), dtype=float)
        year = int(start[:4])
        series[name] = pd.Series(numbers, index=range(year, year + len(numbers)))
    return Problem("m1", f"M1 yearly ({len(series)} series), last 6", series, 6, False, 1)


LOADERS: dict[str, Callable[[], Problem]] = {
    "shampoo": shampoo,
    "co2": co2,
    "sunspots": sunspots,
    "lynx": lynx,
    "m1": m1,
}


def mase(given: np.ndarray, actual: np.ndarray, forecast: np.ndarray, m: int) -> float:
    scale = np.mean(np.abs(given[m:] - given[:-m]))
    return float(np.mean(np.abs(actual - forecast)) / scale)


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = np.abs(forecast) + np.abs(actual)
    terms = np.divide(
        200 * np.abs(forecast - actual), total, out=np.zeros_like(total), where=total > 0
    )
    return float(np.mean(terms))


def naive(y: np.ndarray, h: int, problem: Problem) -> Forecast:
    return np.repeat(y[-1], h), None


def seasonal_naive(y: np.ndarray, h: int, problem: Problem) -> Forecast:
    return y[-problem.cycle :][np.arange(h) % problem.cycle], None


def ets(y: np.ndarray, h: int, problem: Problem, damped: bool, seasonal: str | None) -> Forecast:
    """Holt-Winters with additive trend, fitted by statsmodels' defaults; the 80 % interval
    from simulated paths with additive errors."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        y,
        trend="add",
        damped_trend=damped,
        seasonal=seasonal,
        seasonal_periods=problem.m if seasonal else None,
    ).fit()
    paths = model.simulate(h, anchor="end", repetitions=SIMULATIONS, random_state=0)
    return model.forecast(h), np.quantile(paths, [0.1, 0.9], axis=1)


def theta(y: np.ndarray, h: int, problem: Problem) -> Forecast:
    """statsmodels' ThetaModel, deseasonalised (period 12) on monthly data."""
    from statsmodels.tsa.forecasting.theta import ThetaModel

    model = ThetaModel(y, period=problem.m, deseasonalize=problem.monthly).fit()
    bounds = model.prediction_intervals(h, alpha=0.2)
    return np.asarray(model.forecast(h)), np.asarray(bounds).T


def sarima(y: np.ndarray, h: int, problem: Problem) -> Forecast:
    """SARIMAX (1,1,1)(0,1,1,12) on monthly data; on yearly data (1,1,1), and (2,1,2) when
    30 values or more are given (shorter series give it degenerate fits), each without and
    with drift, the lowest AIC kept."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    if problem.monthly:
        fits = [SARIMAX(y, order=(1, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)]
    else:  # with d = 1, SARIMAX's trend "t" is the drift
        orders = [(1, 1, 1), (2, 1, 2)] if len(y) >= SARIMA_LONG else [(1, 1, 1)]
        fits = [SARIMAX(y, order=o, trend=t).fit(disp=False) for o in orders for t in "nt"]
    forecast = min(fits, key=lambda fit: fit.aic).get_forecast(h)
    return forecast.predicted_mean, forecast.conf_int(alpha=0.2).T


def anchors(problem: Problem) -> dict[str, Callable[[np.ndarray, int, Problem], Forecast]]:
    # statsmodels' first import adds "always" warning filters: done here, before run_anchor's
    # "ignore", which they would otherwise override
    import statsmodels.api  # noqa: F401

    methods = {"naive (last value)": naive}
    if problem.cycle > 1:
        methods[f"seasonal naive (period {problem.cycle})"] = seasonal_naive
    seasons: list[str | None] = [None]
    if problem.monthly:
        positive = all((s > 0).all() for s in problem.series.values())
        seasons = ["add", "mul"] if positive else ["add"]
    for damped in (False, True):
        for season in seasons:
            trend = "damped additive trend" if damped else "additive trend"
            kind = {"add": "additive", "mul": "multiplicative"}.get(season)
            name = f"ETS Holt-Winters, {trend}" + (f", {kind} season" if season else "")
            methods[name] = partial(ets, damped=damped, seasonal=season)
    methods["Theta (ThetaModel" + (", period 12)" if problem.monthly else ")")] = theta
    arima = "(1,1,1)(0,1,1,12)" if problem.monthly else "(1,1,1) or (2,1,2), ± drift, by AIC"
    methods[f"SARIMA {arima}"] = sarima
    return methods


def score(problem: Problem, forecasts: list[Forecast]) -> dict:
    """Mean MASE and sMAPE over the series; coverage over the held-out values of the series
    that have bounds (None when none has)."""
    mases, smapes, inside, total = [], [], 0, 0
    for (given, actual), (point, bounds) in zip(problem.splits(), forecasts, strict=True):
        mases.append(mase(given, actual, point, problem.m))
        smapes.append(smape(actual, point))
        if bounds is not None:
            inside += int(np.sum((bounds[0] <= actual) & (actual <= bounds[1])))
            total += len(actual)
    return {
        "mase": float(np.mean(mases)),
        "smape": float(np.mean(smapes)),
        "coverage": inside / total if total else None,
    }


def _row(problem: Problem, system: str, budget: str, **figures) -> dict:
    return {
        "dataset": problem.label,
        "metric": METRIC,
        "budget": budget,
        "system": system,
        "horizon": problem.horizon,
        "series": len(problem.series),
        **figures,
    }


def run_anchor(problem: Problem, name: str, method: Callable) -> dict:
    """One anchor on every series of the problem; a failing series falls back to naive."""
    started = time.perf_counter()
    forecasts, fallbacks = [], 0
    for given, _ in problem.splits():
        try:
            with warnings.catch_warnings():  # convergence chatter of the statsmodels fits
                warnings.simplefilter("ignore")
                point, bounds = method(given, problem.horizon, problem)
            point = np.asarray(point, dtype=float)
            if not np.all(np.abs(point) <= DIVERGED * np.max(np.abs(given))):
                raise ValueError("the forecast diverged (or is not finite)")
            if bounds is not None and not np.isfinite(bounds).all():
                bounds = None
        except Exception:
            fallbacks += 1
            point, bounds = naive(given, problem.horizon, problem)
        forecasts.append((point, bounds))
    wall = time.perf_counter() - started
    return _row(problem, name, "-", **score(problem, forecasts), wall_s=wall, fallbacks=fallbacks)


def write_given(problem: Problem, path: Path) -> Path:
    """The given part as `automl fit` reads it: time,value (one series) or id,time,value."""
    parts = [
        pd.DataFrame(
            {"id": name, "time": s.index[: -problem.horizon], "value": s.iloc[: -problem.horizon]}
        )
        for name, s in problem.series.items()
    ]
    frame = pd.concat(parts, ignore_index=True)
    if len(problem.series) == 1:
        frame = frame.drop(columns="id")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def read_predictions(problem: Problem, path: Path) -> list[Forecast]:
    """`automl predict`'s table: H rows per id (step 1..H), `prediction` the median, bounds
    from q10/q90 when present."""
    table = pd.read_csv(path)
    missing = {"step", "prediction"} - set(table.columns)
    if missing:
        raise ValueError(f"predictions lack column(s) {sorted(missing)}: {list(table.columns)}")
    quantiles = {"q10", "q90"} <= set(table.columns)
    if len(problem.series) > 1:
        groups = dict(list(table.groupby(table["id"].astype(str))))
    else:
        groups = {name: table for name in problem.series}
    forecasts = []
    for name in problem.series:
        rows = groups.get(name)
        if rows is None or sorted(rows["step"]) != list(range(1, problem.horizon + 1)):
            raise ValueError(f"series {name}: expected steps 1..{problem.horizon}")
        rows = rows.sort_values("step")
        bounds = rows[["q10", "q90"]].to_numpy(float).T if quantiles else None
        forecasts.append((rows["prediction"].to_numpy(float), bounds))
    return forecasts


def run_automl(problem: Problem, budget: str, run_cli: Callable, stamp: str) -> dict:
    """`automl fit` then `automl predict` as a user runs them; a failure of either is
    recorded in the row (`error`) instead of stopping the benchmark."""
    given = write_given(problem, DATA / f"forecast_{problem.key}_given.csv")
    study = f"forecast_{problem.key}_{stamp}"
    started = time.monotonic()
    try:
        figures = run_cli(given, budget, ["--horizon", str(problem.horizon), "--study", study])
    except (SystemExit, Exception) as exc:  # run_automl_cli exits when the fit fails
        failed = {"mase": None, "smape": None, "coverage": None, "error": str(exc)}
        return _row(problem, AUTOML, budget, **failed, wall_s=time.monotonic() - started)
    output = DATA / f"forecast_{problem.key}_predictions.csv"
    output.unlink(missing_ok=True)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "automl", "predict", figures.pop("study_dir"), str(given)]
        + ["-o", str(output)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    figures["predict_s"] = time.monotonic() - started
    try:
        if result.returncode != 0:
            raise RuntimeError(f"automl predict failed:\n{result.stderr[-2000:]}")
        scores = score(problem, read_predictions(problem, output))
    except (RuntimeError, ValueError, KeyError, OSError) as exc:
        scores = {"mase": None, "smape": None, "coverage": None, "error": str(exc)}
    return _row(problem, AUTOML, budget, **scores, **figures)


def bench(
    keys: list[str], budget: str | None, run_cli: Callable, baseline: bool, automl: bool
) -> list[dict]:
    """automl, then the anchors (the baseline), on each named dataset; the ETS variant of
    lowest MASE on a dataset is flagged `best_ets` (picked on the test: a reference only)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rows = []
    for key in keys:
        problem = LOADERS[key]()
        if key == "m1":
            own = budget if budget and len(keys) == 1 else M1_BUDGET
        else:
            own = budget or SINGLE_BUDGET
        print(
            f"{problem.label}: {len(problem.series)} series, H={problem.horizon}", file=sys.stderr
        )
        if automl:
            rows.append(run_automl(problem, own, run_cli, stamp))
        if baseline:
            found = [run_anchor(problem, name, method) for name, method in anchors(problem).items()]
            ets_rows = [r for r in found if r["system"].startswith("ETS")]
            min(ets_rows, key=lambda r: r["mase"])["best_ets"] = True
            rows += found
    return rows


def _cell(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def markdown(rows: list[dict]) -> list[str]:
    """The forecasting section of bench/results.md, one line per (dataset, system)."""
    lines = [
        "## Forecasting",
        "",
        "Written by `bench/run.py forecasting` (protocol in bench/forecasting.py). Last H values "
        "of each series held out; MASE scaled by the given part's mean absolute m-step "
        "difference (m = 12 monthly, 1 yearly); sMAPE in %; M1 figures are means over its 181 "
        "series. Coverage: share of held-out values inside the 80 % interval (automl: "
        "[q10, q90]). Anchors' wall time covers every series of the dataset; automl's is the "
        "fit from outside the process (+ excess over the budget).",
        "",
        "| date | dataset | system | budget | MASE | sMAPE (%) | 80 % coverage | wall (s) | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        wall = _cell(r.get("wall_s"), ".1f")
        if "over_budget_s" in r:
            wall += f" ({r['over_budget_s']:+.1f})"
        notes = []
        if r.get("best_ets"):
            notes.append("best ETS variant (on the test)")
        if r.get("fallbacks"):
            notes.append(f"{r['fallbacks']} series fell back to naive")
        if "trials" in r:
            notes.append(f"{r['trials']} trials ({r['trials_complete']} complete)")
        if r.get("commit") and r["system"] == AUTOML:
            notes.append(f"at {r['commit']}")
        if r.get("error"):
            notes.append("error: " + " ".join(r["error"].split())[-160:].replace("|", "/"))
        coverage = "-" if r["coverage"] is None else f"{100 * r['coverage']:.0f} %"
        lines.append(
            f"| {r['date']} | {r['dataset']} | {r['system']} | {r['budget']} | "
            f"{_cell(r['mase'], '.3f')} | {_cell(r['smape'], '.2f')} | "
            f"{coverage} | {wall} | "
            f"{'; '.join(notes)} |"
        )
    return lines
