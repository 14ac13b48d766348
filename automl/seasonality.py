"""The seasonal period of series to forecast, the scale that makes errors comparable across
series (MASE's), and the naive forecasts every model is shown against."""

from __future__ import annotations

import numpy as np
import pandas as pd

# Periods a calendar frequency implies (pandas' frequency codes, by prefix): a year of months,
# quarters or weeks, a week of days, a day of hours, an hour of minutes.
FREQUENCY_PERIODS = (
    ("MIN", 60),
    ("T", 60),
    ("BH", 24),
    ("H", 24),
    ("BQ", 4),
    ("Q", 4),
    ("BM", 12),
    ("SM", 24),
    ("M", 12),
    ("W", 52),
    ("B", 5),
    ("D", 7),
    ("A", 1),
    ("Y", 1),
)
MIN_AUTOCORRELATION = 0.3  # a lag's autocorrelation (of the differenced series) to call it a cycle
NOISE_BAND = 2.5  # an uncalendared cycle's autocorrelation: at least 2.5 / sqrt(steps)
SHORTEST_SHARE = 0.8  # a shorter peak this close to the strongest one is the period
MAX_PERIOD = 96  # the longest window a forecaster reads; a longer cycle cannot be used


def calendar_period(times: list[str]) -> tuple[int | None, str | None]:
    """(period, frequency name) from the times of a series: monthly dates give 12; whole
    numbers counting up by one (years, steps) give None: no calendar says their cycle."""
    frequency = date_frequency(times)
    if frequency is None:
        return None, None
    code = frequency.upper().split("-")[0].lstrip("0123456789")
    for prefix, period in FREQUENCY_PERIODS:
        if code.startswith(prefix):
            return period, frequency
    return None, frequency


def date_frequency(times: list[str]) -> str | None:
    """pandas' frequency of dated times ('MS', 'D', 'W-SUN'), or None (numbers, irregular)."""
    if len(times) < 3:
        return None
    dates = pd.to_datetime(pd.Series(times), errors="coerce", format="mixed")
    if dates.isna().any():
        return None
    try:
        return pd.infer_freq(pd.DatetimeIndex(dates))
    except (TypeError, ValueError):
        return None


def autocorrelations(series: list[np.ndarray], max_lag: int) -> np.ndarray:
    """The autocorrelation of the first differences at lags 0..max_lag, averaged over the
    series long enough for it (weighted by length): differencing removes a trend, which would
    otherwise correlate every lag."""
    total = np.zeros(max_lag + 1)
    weight = 0.0
    for values in series:
        steps = np.diff(values[np.isfinite(values)])
        if len(steps) < 2 * max_lag + 2 or steps.std() < 1e-12:
            continue
        centred = steps - steps.mean()
        denominator = float(centred @ centred)
        acf = [
            float(centred[: len(centred) - k] @ centred[k:]) / denominator
            for k in range(max_lag + 1)
        ]
        total += len(steps) * np.asarray(acf)
        weight += len(steps)
    return total / weight if weight else total


def detect_period(times: list[list[str]], series: list[np.ndarray]) -> tuple[int, str]:
    """The seasonal period (1 when none) and how it was found, from the dates' frequency and
    the autocorrelation: the calendar's period if the data repeat at it, else the strongest
    cycle the autocorrelation shows (Lynx: about 10 years), else none."""
    calendar, frequency = calendar_period(times[0]) if times else (None, None)
    longest = max(len(s) for s in series)
    max_lag = int(min(MAX_PERIOD, (longest - 1) // 3))
    if max_lag < 2:
        return 1, "the series are too short to show a cycle"
    acf = autocorrelations(series, max_lag)
    seen = f"{frequency} dates" if frequency else "the times"
    if calendar and 1 < calendar <= max_lag and acf[calendar] >= MIN_AUTOCORRELATION:
        return calendar, f"{seen}; autocorrelation {acf[calendar]:.2f} at lag {calendar}"
    # a cycle the calendar does not name must stand out of the noise of this many steps
    # (differencing noise alone correlates lag 2 with itself: ShampooSales' "period 2")
    needed = max(MIN_AUTOCORRELATION, NOISE_BAND / np.sqrt(max(len(s) for s in series)))
    peaks = [
        k
        for k in range(3, max_lag)
        if acf[k] >= needed and acf[k] >= acf[k - 1] and acf[k] >= acf[k + 1]
    ]
    if peaks:  # the shortest strong cycle: its multiples repeat it (Lynx: 10 rather than 19)
        strongest = max(acf[k] for k in peaks)
        best = min(k for k in peaks if acf[k] >= SHORTEST_SHARE * strongest)
        return best, f"autocorrelation {acf[best]:.2f} at lag {best} ({seen})"
    if calendar and calendar > 1:
        return 1, f"{seen} suggest {calendar}, but the values do not repeat at it"
    return 1, f"no cycle in the autocorrelation ({seen})"


def mase_scale(values: np.ndarray, period: int) -> float:
    """MASE's denominator: the mean absolute change over one period (one step when the series
    is not longer than a period) within `values`; the mean absolute value, or 1, when flat."""
    values = values[np.isfinite(values)]
    lag = period if len(values) > period > 1 else 1
    if len(values) > lag:
        change = float(np.mean(np.abs(values[lag:] - values[:-lag])))
        if change > 1e-12:
            return change
    level = float(np.mean(np.abs(values))) if len(values) else 0.0
    return level if level > 1e-12 else 1.0


def naive_forecasts(history: np.ndarray, horizon: int, period: int) -> dict[str, np.ndarray]:
    """The naive forecasts of the next `horizon` values: the last value repeated ("naive") and,
    with a period, the last period repeated ("seasonal naive"; the naive one where the history
    is shorter than a period, so both are scored on every origin)."""
    forecasts = {"naive": np.full(horizon, history[-1], dtype=np.float64)}
    if period > 1:
        if len(history) >= period:
            cycle = history[-period:][np.arange(horizon) % period].astype(np.float64)
        else:
            cycle = forecasts["naive"]
        forecasts["seasonal naive"] = cycle
    return forecasts


def marked_below(reason: str, score: float | None, line: tuple[str, float] | None) -> str:
    """A trial's leaderboard reason, with "worse than seasonal naive" when it scored below
    the line to beat."""
    if line is None or score is None or not score < line[1]:
        return reason
    return "; ".join(r for r in (reason, f"worse than {line[0]}") if r)


def line_to_beat(forecast: dict | None) -> tuple[str, float] | None:
    """The naive forecast a forecaster's trials are shown against, as (name, score): the
    seasonal naive when the series have a period, else the naive, scored like a trial (minus
    its MASE on the same validation origins). None for other tasks and 0.2.0's forecasts."""
    baselines = (forecast or {}).get("baselines") or {}
    for name in ("seasonal naive", "naive"):
        if name in baselines:
            return name, -float(baselines[name])
    return None


# The calendar position a step's date gives, by the period its frequency implies: the cycle
# a forecaster's calendar channels go round (a month in the year, a day in the week, ...).
CALENDAR_UNITS = {12: "month", 4: "quarter", 52: "week", 7: "weekday", 5: "weekday", 24: "hour"}


def calendar_unit(times: list[str]) -> str:
    """The calendar position worth giving a forecaster for series dated like these ("month"
    for monthly dates), or "" (numbered steps, yearly or irregular dates)."""
    period, _ = calendar_period(times)
    return CALENDAR_UNITS.get(period or 0, "")


def calendar_channels(times: list[str], unit: str) -> np.ndarray:
    """(T, 2) sine and cosine of each step's position in its calendar cycle: January and
    December sit side by side, and the next steps' positions follow from the last one's."""
    dates = pd.DatetimeIndex(pd.to_datetime(pd.Series(times), errors="coerce", format="mixed"))
    position, cycle = {
        "month": (dates.month - 1, 12),
        "quarter": (dates.quarter - 1, 4),
        "week": (dates.isocalendar().week.to_numpy() - 1, 52),
        "weekday": (dates.dayofweek, 7),
        "hour": (dates.hour, 24),
    }[unit]
    angle = 2 * np.pi * np.asarray(position, dtype=np.float64) / cycle
    channels = np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return np.nan_to_num(channels, nan=0.0).astype(np.float32)
