"""The network every forecaster runs inside: what lets a forecast leave the training range.

A family's network (the core) maps a normalised window to `horizon x quantiles` numbers; this
wrapper turns the series into that window and the numbers back into values. Its choices are
searched like the core's, as `<family>.<choice>`:

- `transform`: none, log or Box-Cox (positive series only), applied to the values first;
- `scaling`: "window" normalises each window by its own mean and spread (RevIN; DeepAR and
  N-BEATS scale per window too), so a trending series is read at its current level and the
  forecast moves with it; "global" by the training values', which keeps forecasts near the
  training range (right for a stationary series such as Lynx);
- `base`: the core learns a residual on top of a naive forecast: "last" (the last value: the
  core learns first differences), "seasonal" (the value one period back: seasonal differences),
  "drift" (the line through the window's first and last values), "holt" (exponential
  smoothing with a damped trend, run over the window; its three smoothing weights are learnt
  with the core and shared by every series, as in ES-RNN, Smyl 2020), "holt_winters" (the
  same with an additive season, for windows of two periods or more) or "none";
- `differences`: the window's first differences as an extra input channel;
- `calendar`: whether the network reads each step's position in the calendar (the month of a
  monthly series; the last two input channels, sine and cosine): known for the future too,
  since the forecast steps' positions follow from the last one's;
- `lookback`: how many of the window's steps the network reads.

Quantiles come out sorted, so an interval never crosses itself.

Input (n, window, F): feature 0 is the series divided by its scale (its in-sample seasonal-naive
mean absolute error, so an absolute error here is a MASE), NaN before the series began; features
1.. are standardised covariates. Output (n, horizon, quantiles), in feature 0's units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.task_info import TaskInfo

TRANSFORMS = ("none", "log", "boxcox")
POSITIVE_FLOOR = 1e-6  # values a log or Box-Cox model reads are at least this (in scale units)
MAX_LOG = 30.0  # a log forecast past exp(30) scale units is an overflow, not a value
MIN_SPREAD = 0.01  # a flat window's spread: this share of the training values' spread
STEP_CALIBRATION_ORIGINS = 50  # backtests from which each step's interval is calibrated alone
SCALE_RANGE = (0.25, 20.0)  # an interval is narrowed or widened this much at most
# Holt's base starts at level weight 0.5, trend weight 0.1, damping 0.98 and season weight 0.1
# (as logits); its damping stays in [0.8, 1], the range ETS fits allow
HOLT_START = (0.0, -2.2, 3.0, -2.2)
MIN_DAMPING = 0.8


def is_forecaster(params: dict[str, Any], task: TaskInfo) -> bool:
    """New-style forecasting parameters (0.2.0's forecasters had only a lookback)."""
    return task.target_kind == "forecasting" and task.forecast is not None and "scaling" in params


def bases(task: TaskInfo) -> list[str]:
    """The naive forecasts a core may learn a residual on; "seasonal" when the series has a
    period the window can hold."""
    period, longest = int(task.forecast["period"]), int(task.input_shape[0])
    seasonal = ["seasonal"] if 1 < period <= longest else []
    winters = ["holt_winters"] if 1 < period and 2 * period <= longest else []
    return [*seasonal, "last", "drift", "holt", *winters, "none"]


def suggest_forecasting(
    hp, task: TaskInfo, univariate: bool = False, naive_only: bool = False
) -> None:
    """A forecaster's choices (see the module docstring); nothing for other tasks.
    `univariate`: the core reads the series alone (N-BEATS), so no extra channels.
    `naive_only`: the base is the forecast (a core of offsets), so "none" is not offered."""
    if task.target_kind != "forecasting":
        return
    longest = int(task.input_shape[0])
    if task.forecast is None:  # a study of 0.2.0: its window only
        hp.int("lookback", min(4, longest), longest)
        return
    base = hp.categorical("base", [b for b in bases(task) if not (naive_only and b == "none")])
    period = int(task.forecast["period"])
    shortest = {"seasonal": period, "holt_winters": 2 * period}.get(base, min(4, longest))
    hp.int("lookback", shortest, longest)
    hp.categorical("transform", [t for t in TRANSFORMS if t in task.forecast["levels"]])
    hp.categorical("scaling", ["window", "global"])
    if univariate:
        return
    hp.categorical("differences", [False, True])
    if task.forecast.get("calendar"):
        hp.categorical("calendar", [False, True])


def forecasting_defaults(task: TaskInfo, univariate: bool = False) -> dict[str, Any]:
    """The whole window, per-window scaling, a residual on the seasonal (or last) value."""
    if task.target_kind != "forecasting":
        return {}
    defaults: dict[str, Any] = {"lookback": int(task.input_shape[0])}
    if task.forecast is not None:
        defaults.update(base=bases(task)[0], transform="none", scaling="window")
        if univariate:
            return defaults
        defaults["differences"] = False
        if task.forecast.get("calendar"):
            defaults["calendar"] = False  # the search tries it; series without dates work
    return defaults


class Forecaster(nn.Module):
    """A core network inside the transforms, scaling and naive base its parameters choose."""

    def __init__(
        self,
        hp: dict[str, Any],
        task: TaskInfo,
        build_core: Callable[[TaskInfo], nn.Module],
    ) -> None:
        super().__init__()
        info = task.forecast
        self.lookback = int(hp["lookback"])
        self.transform = hp["transform"]
        self.scaling = hp["scaling"]
        self.base = hp["base"]
        self.differences = bool(hp.get("differences", False))
        # the calendar channels the data has, and whether this network reads them
        self.calendar = int(info.get("calendar", 0))
        self.dropped = 0 if hp.get("calendar", False) else self.calendar
        self.horizon = int(task.horizon)
        self.n_quantiles = len(info["quantiles"])
        self.period = int(info["period"])
        lam = info.get("boxcox_lambda")
        self.boxcox_lambda = 1.0 if lam is None else float(lam)
        self.level, self.spread = (float(v) for v in info["levels"][self.transform])
        if self.base in ("holt", "holt_winters"):
            weights = HOLT_START if self.base == "holt_winters" else HOLT_START[:3]  # no season
            self.smoothing = nn.Parameter(torch.tensor(weights))
        n_features = int(task.input_shape[-1]) - self.dropped + int(self.differences)
        self.core = build_core(dataclasses.replace(task, input_shape=(self.lookback, n_features)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, -self.lookback :, : x.shape[-1] - self.dropped]
        real = ~torch.isnan(x[..., 0])
        t = self._transform(x[..., 0])
        loc, scale = self._location_scale(t, real)
        z = (t - loc) / scale
        channels = [z[..., None], torch.nan_to_num(x[..., 1:], nan=0.0)]
        if self.differences:
            steps = torch.diff(z, dim=1, prepend=z[:, :1])
            channels.append(torch.nan_to_num(steps, nan=0.0)[..., None])
        # steps before the series began are all-NaN: the sequence families read them as padding
        inputs = torch.where(real[..., None], torch.cat(channels, dim=-1), torch.nan)
        out = self.core(inputs).reshape(-1, self.horizon, self.n_quantiles)
        out = out + self._base(torch.nan_to_num(z, nan=0.0), real)[..., None]
        out = torch.sort(out, dim=-1).values
        return self._untransform(out * scale[..., None] + loc[..., None])

    def _transform(self, values: torch.Tensor) -> torch.Tensor:
        if self.transform == "none":
            return values
        positive = values.clamp_min(POSITIVE_FLOOR)
        if self.transform == "log" or abs(self.boxcox_lambda) < 1e-3:
            return torch.log(positive)
        return (positive**self.boxcox_lambda - 1.0) / self.boxcox_lambda

    def _untransform(self, t: torch.Tensor) -> torch.Tensor:
        if self.transform == "none":
            return t
        if self.transform == "log" or abs(self.boxcox_lambda) < 1e-3:
            return torch.exp(t.clamp_max(MAX_LOG))
        inside = (self.boxcox_lambda * t + 1.0).clamp_min(POSITIVE_FLOOR)
        return (inside ** (1.0 / self.boxcox_lambda)).clamp_max(1e12)

    def _location_scale(
        self, t: torch.Tensor, real: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 1) location and scale of each window: its own, or the training values'."""
        if self.scaling == "global":
            ones = torch.ones_like(t[:, :1])
            return ones * self.level, ones * self.spread
        weight = real.to(t.dtype)
        count = weight.sum(dim=1, keepdim=True).clamp_min(1.0)
        filled = torch.nan_to_num(t, nan=0.0)
        mean = (filled * weight).sum(dim=1, keepdim=True) / count
        variance = (((filled - mean) * weight) ** 2).sum(dim=1, keepdim=True) / count
        return mean, variance.sqrt().clamp_min(MIN_SPREAD * self.spread + 1e-6)

    def _base(self, z: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """(n, horizon): the naive forecast the core's output is added to, in z units."""
        last = z[:, -1:]
        ahead = torch.arange(1, self.horizon + 1, device=z.device, dtype=z.dtype)
        if self.base == "none":
            return torch.zeros_like(last) * ahead
        if self.base == "last":
            return last + 0.0 * ahead
        if self.base == "seasonal":
            return self._seasonal_naive(z, real)
        # drift: the line through the first real value and the last one
        first = torch.argmax(real.to(torch.int64), dim=1, keepdim=True)
        n_real = real.to(z.dtype).sum(dim=1, keepdim=True)
        slope = (last - torch.gather(z, 1, first)) / (n_real - 1.0).clamp_min(1.0)
        if self.base == "drift":
            return last + slope * ahead
        if self.base == "holt":
            return self._holt(z, real, first, slope, ahead)
        return self._holt_winters(z, real, first, ahead)

    def _seasonal_naive(self, z: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
        """The value one period back (the last value where that step is padding)."""
        steps = z.shape[1] - self.period + (torch.arange(self.horizon) % self.period)
        steps = steps.to(z.device)
        return torch.where(real[:, steps], z[:, steps], z[:, -1:])

    def _weights(self) -> tuple[torch.Tensor, ...]:
        """alpha, beta, phi (and gamma) from their logits."""
        alpha, beta = torch.sigmoid(self.smoothing[0]), torch.sigmoid(self.smoothing[1])
        phi = MIN_DAMPING + (1.0 - MIN_DAMPING) * torch.sigmoid(self.smoothing[2])
        return alpha, beta, phi, torch.sigmoid(self.smoothing[-1])

    def _holt(
        self,
        z: torch.Tensor,
        real: torch.Tensor,
        first: torch.Tensor,
        slope: torch.Tensor,
        ahead: torch.Tensor,
    ) -> torch.Tensor:
        """Holt's damped trend run over the window from its first real value, the drift's slope
        as the starting trend; forecast h: level + (phi + ... + phi^h) trend."""
        alpha, beta, phi, _ = self._weights()
        level, trend = torch.gather(z, 1, first), slope
        for t in range(1, z.shape[1]):
            update = real[:, t : t + 1] & (first < t)
            new_level, new_trend = _holt_step(level, trend, z[:, t : t + 1], alpha, beta, phi)
            level = torch.where(update, new_level, level)
            trend = torch.where(update, new_trend, trend)
        return level + trend * torch.cumsum(phi**ahead, dim=0)

    def _holt_winters(
        self, z: torch.Tensor, real: torch.Tensor, first: torch.Tensor, ahead: torch.Tensor
    ) -> torch.Tensor:
        """Holt-Winters with a damped trend and an additive season of `period` steps, started
        from the first two real periods (level: the first's mean, moved to its last step; trend:
        the change of the periods' means per step; season: the first's deviations) and run
        over the rest. A window with under two real periods gets the seasonal naive instead."""
        alpha, beta, phi, gamma = self._weights()
        m, steps = self.period, z.shape[1]
        phases = torch.arange(m, device=z.device)
        start = (first + phases).clamp_max(steps - 1)
        one = torch.gather(z, 1, start)
        two = torch.gather(z, 1, (start + m).clamp_max(steps - 1))
        mean = one.mean(dim=1, keepdim=True)
        trend = (two.mean(dim=1, keepdim=True) - mean) / m
        level = mean + trend * (m - 1) / 2.0
        season = one - mean  # (n, m): by phase, counted from the first real step
        for t in range(m, steps):
            update = real[:, t : t + 1] & (first + m <= t)
            phase = (t - first) % m
            here = update & (phases == phase)  # (n, m): the season this step updates
            s = torch.gather(season, 1, phase)
            new_level, new_trend = _holt_step(level, trend, z[:, t : t + 1] - s, alpha, beta, phi)
            season = torch.where(
                here, gamma * (z[:, t : t + 1] - new_level) + (1 - gamma) * s, season
            )
            level = torch.where(update, new_level, level)
            trend = torch.where(update, new_trend, trend)
        later = (steps - 1 - first + ahead.to(torch.int64)) % m  # (n, horizon)
        forecast = level + trend * torch.cumsum(phi**ahead, dim=0) + torch.gather(season, 1, later)
        return torch.where(first + 2 * m <= steps, forecast, self._seasonal_naive(z, real))


def _holt_step(
    level: torch.Tensor,
    trend: torch.Tensor,
    value: torch.Tensor,
    alpha: torch.Tensor,
    beta: torch.Tensor,
    phi: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of Holt's damped trend: the level and trend after `value` (deseasonalised)."""
    new_level = alpha * value + (1.0 - alpha) * (level + phi * trend)
    return new_level, beta * (new_level - level) + (1.0 - beta) * phi * trend


def pinball_loss(quantiles: list[float]) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The quantile (pinball) loss over (n, horizon, Q) outputs and (n, horizon) targets; its
    0.5 quantile is half the absolute error, so the median forecast minimises the MASE."""
    levels = torch.tensor(quantiles, dtype=torch.float32)

    def loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        q = levels.to(outputs.device)
        error = targets[..., None] - outputs.reshape(*targets.shape, len(quantiles))
        return torch.maximum(q * error, (q - 1.0) * error).mean()

    return loss


def median_index(quantiles: list[float]) -> int:
    return min(range(len(quantiles)), key=lambda i: abs(quantiles[i] - 0.5))


def mase(outputs: torch.Tensor, targets: torch.Tensor, quantiles: list[float]) -> float:
    """Mean absolute scaled error of the median forecasts: targets are in scale units."""
    median = outputs.reshape(*targets.shape, len(quantiles))[..., median_index(quantiles)]
    return float((median - targets).abs().mean())


def backtest_summary(
    outputs: np.ndarray, targets: np.ndarray, quantiles: list[float]
) -> dict[str, float]:
    """How a forecaster did on the validation origins: the MASE and sMAPE (%) of its median,
    and the share of values inside its outermost interval (with its nominal level). Targets and
    outputs are in scale units, which sMAPE, a ratio, does not see."""
    values = outputs.reshape(*targets.shape, len(quantiles)).astype(np.float64)
    median = values[..., median_index(quantiles)]
    denominator = np.abs(median) + np.abs(targets)
    ratio = np.divide(
        2 * np.abs(median - targets), denominator, out=np.zeros_like(median), where=denominator > 0
    )
    inside = (targets >= values[..., 0]) & (targets <= values[..., -1])
    return {
        "mase": float(np.abs(median - targets).mean()),
        "smape": float(100 * ratio.mean()),
        "coverage": float(inside.mean()),
        "interval": float(quantiles[-1] - quantiles[0]),
    }


def interval_scale(
    outputs: np.ndarray, targets: np.ndarray, quantiles: list[float]
) -> float | list[float]:
    """How much to widen (or narrow) every quantile's distance from the median so that the
    outermost interval covers its nominal share of the validation values (split conformal on
    the backtests): a network fits its training windows closely, and its quantiles say so.
    One factor per step ahead where every step has STEP_CALIBRATION_ORIGINS backtests (the
    factor a step needs grows with its distance: on M1 yearly one factor for all six steps
    covered 77 % of the first step's held-out values and 59 % of the fourth's); one for all
    steps where fewer (a single series' few origins would make each step's factor noise)."""
    if len(quantiles) < 2:
        return 1.0
    values = outputs.reshape(*targets.shape, len(quantiles)).astype(np.float64)
    median = values[..., median_index(quantiles)]
    above = targets >= median
    half_width = np.where(above, values[..., -1] - median, median - values[..., 0])
    needed = np.abs(targets - median) / np.maximum(half_width, 1e-9)
    level = quantiles[-1] - quantiles[0]
    if len(needed) < STEP_CALIBRATION_ORIGINS:
        return float(np.clip(np.quantile(needed, level), *SCALE_RANGE))
    return [float(f) for f in np.clip(np.quantile(needed, level, axis=0), *SCALE_RANGE)]


def widen(values: np.ndarray, scale: float | list[float], quantiles: list[float]) -> np.ndarray:
    """(..., horizon, Q) quantiles with their distances from the median times `scale`: one
    factor, or one per step."""
    median = values[..., median_index(quantiles) : median_index(quantiles) + 1]
    return median + np.asarray(scale, dtype=np.float64).reshape(-1, 1) * (values - median)
