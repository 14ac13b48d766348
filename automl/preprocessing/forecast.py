"""Series to forecast as windows: each series divided by its own scale, each window followed by
the `horizon` values to predict.

The scale of a series is MASE's denominator (its mean absolute change over one period, on its
training steps), so an absolute error in the network's units is a MASE and one loss serves
series of any size: one global model learns from every series of a long table. Steps before a
series began are NaN (the sequence families read them as padding), so a short series still gives
windows. Covariates (the other numeric columns) are standardised over all series.

A 0.2.0 forecaster (`period` 0) standardised its one series globally; it still loads and
predicts the same.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from automl.errors import DataError
from automl.forecaster import widen
from automl.preprocessing.base import ModalityPreprocessor
from automl.preprocessing.series import SeriesPreprocessor
from automl.seasonality import calendar_channels, mase_scale

MIN_HISTORY = 3  # a window has at least this many real steps


def forecast_window(horizon: int, training_steps: int, period: int = 1) -> int:
    """The longest input window: a few horizons (24 to 96 steps), at most half the training
    history (windows that start before the series are padded, so a short series still gives
    one per step), and a whole period when the history holds three. The families search
    shorter windows inside it."""
    window = min(int(np.clip(4 * horizon, 24, 96)), training_steps // 2)
    if 1 < period and 3 * (period + 1) <= training_steps:
        window = max(window, period + 1)
    return max(MIN_HISTORY, window)


def without_missing_end(values: np.ndarray) -> np.ndarray:
    """A series without its last steps whose forecast column is empty (future rows of a
    table): the forecast starts after the last known value."""
    known = np.flatnonzero(np.isfinite(values[:, 0]))
    return values[: known[-1] + 1] if len(known) else values[:0]


def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Missing values of the forecast column interpolated linearly (the ends held): the loss
    cannot compare a forecast with a missing value. Returns (values, how many were filled)."""
    values = values.copy()
    target = values[:, 0]
    missing = ~np.isfinite(target)
    if missing.any() and (~missing).any():
        steps = np.arange(len(target))
        target[missing] = np.interp(steps[missing], steps[~missing], target[~missing])
    return values, int(missing.sum())


@dataclass
class ForecastPreprocessor(ModalityPreprocessor):
    """Windows of `window` steps; feature 0 (the forecast column) over its series' scale."""

    KEY = "forecast"
    window: int
    horizon: int
    series: SeriesPreprocessor  # the covariates' standardisation (0.2.0: the target's too)
    period: int = 0  # the seasonal period; 0 marks a 0.2.0 forecaster
    scales: dict[str, float] = dataclasses.field(default_factory=dict)  # per series id
    quantiles: list[float] = dataclasses.field(default_factory=lambda: [0.5])
    calendar: str = ""  # the calendar position given as two last channels ("month"), or none
    # quantiles' distance from the median, times this (the finish's): one factor or one a step
    interval_scale: float | list[float] = 1.0

    @classmethod
    def fit(
        cls,
        training: list[np.ndarray],
        ids: list[str],
        horizon: int,
        window: int,
        period: int,
        quantiles: list[float],
        calendar: str = "",
    ) -> ForecastPreprocessor:
        """`training`: each series' training steps only."""
        scales = {i: mase_scale(s[:, 0], period) for i, s in zip(ids, training, strict=True)}
        covariates = SeriesPreprocessor.fit(training)
        return cls(window, horizon, covariates, period, scales, quantiles, calendar)

    @property
    def legacy(self) -> bool:
        return self.period == 0

    def scale_of(self, series_id: str | None, values: np.ndarray) -> float:
        """A known series' training scale; a new one's, from its own history."""
        if series_id in self.scales:
            return self.scales[series_id]
        if series_id is None and len(self.scales) == 1:  # a one-series model, given a series
            return next(iter(self.scales.values()))
        return mase_scale(values[:, 0], self.period)

    def scaled(
        self, values: np.ndarray, scale: float, times: list[str] | None, undated: bool = False
    ) -> np.ndarray:
        """(T, F [+ 2]): feature 0 over the scale, the covariates standardised (missing: 0),
        then the calendar channels of each step's date (`undated`: zeros, for a network that
        does not read them)."""
        if values.ndim != 2 or values.shape[1] != self.series.n_features:
            raise DataError(
                f"The model forecasts series with {self.series.n_features} column(s) per step; "
                f"got shape {values.shape}."
            )
        out = self.series.standardise(values)
        out[:, 0] = fill_gaps(values)[0][:, 0] / scale
        if not self.calendar:
            return out
        if times is None and undated:
            return np.concatenate([out, np.zeros((len(out), 2), np.float32)], axis=1)
        if times is None or len(times) != len(values):
            raise DataError(
                f"This forecaster reads each step's {self.calendar} from its date: give the "
                "series with its time column (a DataFrame like the training table)."
            )
        return np.concatenate([out, calendar_channels(times, self.calendar)], axis=1)

    def windows(
        self,
        values: np.ndarray,
        scale: float,
        origins: np.ndarray,
        times: list[str] | None = None,
        undated: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(k, window, F) inputs ending before each origin (NaN before the series began) and
        the (k, horizon) values from each origin on, in scale units."""
        scaled = self.scaled(values, scale, times, undated)
        empty = np.full((self.window, scaled.shape[1]), np.nan, np.float32)
        padded = np.concatenate([empty, scaled])
        X = np.stack([padded[o : o + self.window] for o in origins])
        y = np.stack([scaled[o : o + self.horizon, 0] for o in origins])
        return X.astype(np.float32), y.astype(np.float32)

    def last_windows(
        self,
        series: list[np.ndarray],
        scales: list[float],
        times: list[list[str]] | None = None,
        undated: bool = False,
    ) -> np.ndarray:
        """The network's inputs to forecast after each series' last step (`undated`: series
        without dates, for a network that does not read the calendar)."""
        if self.legacy:
            return self.transform(series)
        if any(len(s) == 0 for s in series):
            raise DataError("A series to forecast from has no values; drop it or give its history.")
        stamps = times if times is not None else [None] * len(series)
        return np.concatenate(
            [
                self.windows(s, scale, np.asarray([len(s)]), t, undated)[0]
                for s, scale, t in zip(series, scales, stamps, strict=True)
            ]
        )

    def decode(self, outputs: np.ndarray, scales: list[float]) -> np.ndarray:
        """(n, horizon, quantiles) network outputs -> values in each series' units."""
        values = self.calibrated(outputs)
        return values * np.asarray(scales, dtype=np.float64)[:, None, None]

    def calibrated(self, outputs: np.ndarray) -> np.ndarray:
        """(n, horizon, Q) network outputs with the intervals the backtests calibrated."""
        values = outputs.reshape(len(outputs), self.horizon, -1).astype(np.float64)
        return widen(values, self.interval_scale, self.quantiles)

    # --- 0.2.0's forecasters: one globally standardised series ------------------------------

    def transform(self, series: list[np.ndarray]) -> np.ndarray:
        """The last window of each series, standardised (a 0.2.0 forecaster's inputs); a newer
        forecaster's from each series' own scale (Predictor.forecast_series uses the known
        series' training scales)."""
        if not self.legacy:
            return self.last_windows(series, [self.scale_of(None, s) for s in series])
        windows = []
        for values in series:
            if len(values) < self.window:
                raise DataError(
                    f"The model forecasts from the last {self.window} steps; the series has "
                    f"only {len(values)}."
                )
            windows.append(self.series.standardise(values[-self.window :])[None])
        return np.concatenate(windows)

    def input_shape(self) -> tuple[int, ...]:
        return (self.window, self.series.n_features + 2 * bool(self.calendar))

    def describe(self) -> list[str]:
        if self.legacy:
            return [
                "the last forecast.window steps of the series, each step's features "
                "standardised: (value - forecast.series.mean[f]) / forecast.series.std[f], a "
                "missing value becoming 0; feature 0 is the forecast one"
            ]
        return [
            "the last forecast.window steps of each series (NaN in every feature for steps "
            "before the series began); feature 0, the forecast column, divided by the series' "
            "scale (forecast.scales[id]; for a series not seen in training, the mean absolute "
            "change over forecast.period steps of its history), missing values interpolated; "
            "the other columns standardised: (value - forecast.series.mean[f]) / "
            "forecast.series.std[f], a missing value becoming 0; with forecast.calendar (e.g. "
            "month), two last channels: sin and cos of 2 pi x the step's position in that cycle "
            "(month - 1) / 12, (quarter - 1) / 4, (ISO week - 1) / 52, weekday / 7, hour / 24"
        ]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForecastPreprocessor:
        fields = {k: v for k, v in data.items() if k != "series"}
        return cls(**fields, series=SeriesPreprocessor.from_dict(data["series"]))
