"""Forecasting that extrapolates: the seasonal period, the forecaster's transforms and naive
bases (known answers), a trending series forecast past its training range by a real search,
a long table of several series through `automl fit` and `automl predict`, and the line to beat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import automl
from automl import AutoDeep
from automl.data.memory import from_memory
from automl.errors import ConfigError, DataError
from automl.forecaster import Forecaster, interval_scale, mase, pinball_loss, widen
from automl.options import FitOptions
from automl.prepare import prepare
from automl.preprocessing import ForecastPreprocessor
from automl.seasonality import (
    calendar_channels,
    calendar_unit,
    detect_period,
    line_to_beat,
    marked_below,
    mase_scale,
    naive_forecasts,
)
from tests.support.cli import assert_cli_error, cli_in_process
from tests.support.forecast_task import forecast_task

# A real search, bounded by trials and epochs rather than by the clock: the budget is generous.
SEARCH = dict(budget="3m", max_trials=1, max_epochs=12, random_state=0, verbose=False)


def _monthly(n: int, slope: float, seed: int = 0) -> pd.DataFrame:
    steps = np.arange(n)
    noise = np.random.default_rng(seed).normal(0, 1.0, n)
    values = 100 + slope * steps + 10 * np.sin(2 * np.pi * steps / 12) + noise
    dates = pd.date_range("2001-01-01", periods=n, freq="MS").strftime("%Y-%m-%d")
    return pd.DataFrame({"month": dates, "sales": values})


# ----------------------------------------------------------------------------- the period


def test_the_period_comes_from_the_dates_and_the_autocorrelation():
    rng = np.random.default_rng(0)
    steps = np.arange(210)
    weekly = 0.05 * steps + 3 * np.sin(2 * np.pi * steps / 7) + rng.normal(0, 0.5, 210)
    days = pd.date_range("2020-01-01", periods=210, freq="D").strftime("%Y-%m-%d").tolist()
    assert detect_period([days], [weekly])[0] == 7
    # numbered steps say nothing of a cycle: the autocorrelation finds the 10-step one
    cycle = 5 * np.sin(2 * np.pi * steps / 10) + rng.normal(0, 0.5, 210)
    assert detect_period([[str(s) for s in steps]], [cycle])[0] == 10
    # monthly dates over values that do not repeat yearly: no period
    walk = rng.normal(0, 1, 210).cumsum()
    months = pd.date_range("2000-01-01", periods=210, freq="MS").strftime("%Y-%m-%d").tolist()
    period, how = detect_period([months], [walk])
    assert period == 1 and "do not repeat" in how


def test_the_mase_scale_and_the_naive_forecasts():
    values = np.asarray([1.0, 2.0, 3.0, 5.0, 6.0, 7.0])
    assert mase_scale(values, 3) == pytest.approx(4.0)  # |5-1|, |6-2|, |7-3|
    assert mase_scale(values, 1) == pytest.approx(1.2)
    assert mase_scale(np.full(5, 2.0), 1) == 2.0  # flat: its level
    guesses = naive_forecasts(values, 4, 3)
    np.testing.assert_array_equal(guesses["naive"], [7, 7, 7, 7])
    np.testing.assert_array_equal(guesses["seasonal naive"], [5, 6, 7, 5])


def test_the_refit_learns_the_windows_that_run_into_the_validation_tail():
    """No training target is a validation value, yet a refit on all rows loses no window: the
    ones between (their targets run into the tail, the series' most recent) are its alone."""
    values = 1.0 + np.arange(40)  # each value names its step
    prepared = prepare(from_memory(values, horizon=4), FitOptions.parse({"horizon": 4}), print)
    data, scale = prepared.data, next(iter(prepared.preprocessing.inputs.scales.values()))

    def first_steps(y: np.ndarray) -> list[int]:
        return [int(step) for step in np.rint(y[:, 0] * scale) - 1]

    train, refit, val = (first_steps(y) for y in (data.y_train, data.y_refit, data.y_val))
    tail = val[0]
    assert train[-1] + 4 == tail  # the last training window ends where the tail begins
    assert refit == list(range(train[-1] + 1, tail))
    assert val == list(range(tail, 40 - 4 + 1))
    assert len(data.all_rows(prepared.task)[0]) == len(train) + len(refit) + len(val)


# ----------------------------------------------------------------------------- the wrapper


class Zeros(nn.Module):
    """A core that adds nothing: the forecaster's output is then its naive base alone."""

    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.outputs = outputs
        self.unused = nn.Linear(1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), self.outputs)


@pytest.mark.parametrize("transform", ["none", "log", "boxcox"])
@pytest.mark.parametrize("scaling", ["window", "global"])
def test_a_forecaster_with_nothing_learnt_gives_its_naive_base(transform, scaling):
    """Whatever the transform and scaling, they are undone exactly: a core that outputs 0
    forecasts the seasonal naive, the last value or the drift line of the window."""
    task = forecast_task((8, 1), {"none": [3.0, 2.0], "log": [1.0, 0.5], "boxcox": [1.0, 1.0]})
    window = torch.tensor([[np.nan, np.nan, 2.0, 4.0, 3.0, 5.0, 4.0, 6.0]])[..., None]
    expected = {
        "seasonal": [3.0, 5.0, 4.0, 6.0, 3.0],  # the last 4 steps again
        "last": [6.0] * 5,
        "drift": [6.0 + 0.8 * h for h in range(1, 6)],  # (6 - 2) / 5 steps
    }
    for base, values in expected.items():
        hp = {
            "lookback": 8,
            "transform": transform,
            "scaling": scaling,
            "base": base,
            "differences": False,
        }
        model = Forecaster(hp, task, lambda core_task: Zeros(core_task.output_dim))
        out = model(window)
        assert out.shape == (1, 5, 3)
        if transform == "none" or base != "drift":  # a drift in log units is not a line
            np.testing.assert_allclose(out[0, :, 1].numpy(), values, rtol=1e-5)


def test_the_holt_base_is_damped_exponential_smoothing_over_the_window():
    """Holt's base against the recurrence written out in numpy, from the first real value with
    the drift's slope; with level weight 1, trend weight 0 and no damping it is the drift."""
    task = forecast_task((8, 1), {"none": [3.0, 2.0]})
    series = [2.0, 4.0, 3.0, 5.0, 4.0, 6.0]
    window = torch.tensor([[np.nan, np.nan, *series]])[..., None]
    hp = {"lookback": 8, "transform": "none", "scaling": "global", "base": "holt"}
    model = Forecaster({**hp, "differences": False}, task, lambda t: Zeros(t.output_dim))
    alpha, beta, phi = 0.3, 0.2, 0.9
    with torch.no_grad():  # the logits of those weights (phi: 0.8 + 0.2 sigmoid)
        model.smoothing[:] = torch.logit(torch.tensor([alpha, beta, (phi - 0.8) / 0.2]))
    z = (np.array(series) - 3.0) / 2.0
    level, trend = z[0], (z[-1] - z[0]) / 5
    for value in z[1:]:
        previous, level = level, alpha * value + (1 - alpha) * (level + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend
    expected = [level + trend * sum(phi**k for k in range(1, h + 1)) for h in range(1, 6)]
    out = model(window)[0, :, 1].detach().numpy()
    np.testing.assert_allclose(out, 3.0 + 2.0 * np.array(expected), rtol=1e-5)
    with torch.no_grad():
        model.smoothing[:] = torch.tensor([30.0, -30.0, 30.0])
    drift = [6.0 + 0.8 * h for h in range(1, 6)]
    np.testing.assert_allclose(model(window)[0, :, 1].detach().numpy(), drift, rtol=1e-5)


def test_the_holt_winters_base_adds_a_season_started_from_the_first_two_periods():
    """Holt-Winters (period 4) against the recurrence written out in numpy; a window with under
    two real periods gets the seasonal naive."""
    task = forecast_task((12, 1), {"none": [0.0, 1.0]})
    series = [5.0, 1.0, 3.0, 2.0, 6.0, 2.0, 4.0, 3.0, 8.0, 3.0]
    windows = torch.tensor([[np.nan, np.nan, *series], [np.nan] * 6 + series[-6:]])[..., None]
    hp = {"lookback": 12, "transform": "none", "scaling": "global", "base": "holt_winters"}
    model = Forecaster({**hp, "differences": False}, task, lambda t: Zeros(t.output_dim))
    alpha, beta, phi, gamma = 0.4, 0.2, 0.9, 0.3
    with torch.no_grad():
        model.smoothing[:] = torch.logit(torch.tensor([alpha, beta, (phi - 0.8) / 0.2, gamma]))
    z, m = np.array(series), 4
    trend = (z[m : 2 * m].mean() - z[:m].mean()) / m
    level, season = z[:m].mean() + trend * (m - 1) / 2, list(z[:m] - z[:m].mean())
    for t in range(m, len(z)):
        s = season[t % m]
        previous, level = level, alpha * (z[t] - s) + (1 - alpha) * (level + phi * trend)
        trend = beta * (level - previous) + (1 - beta) * phi * trend
        season[t % m] = gamma * (z[t] - level) + (1 - gamma) * s
    damp = np.cumsum([phi**h for h in range(1, 6)])
    expected = [level + trend * damp[h - 1] + season[(len(z) - 1 + h) % m] for h in range(1, 6)]
    out = model(windows)[:, :, 1].detach().numpy()
    np.testing.assert_allclose(out[0], expected, rtol=1e-5)
    np.testing.assert_allclose(out[1], [4.0, 3.0, 8.0, 3.0, 4.0], rtol=1e-5)  # 6 real steps


def test_quantiles_come_out_ordered_and_the_loss_is_the_pinball():
    task = forecast_task((8, 1), {"none": [3.0, 2.0]})
    hp = {"lookback": 8, "transform": "none", "scaling": "window", "base": "last"}
    model = Forecaster({**hp, "differences": True}, task, lambda t: nn.Flatten())
    x = torch.randn(6, 8, 1) + 5
    model.core = nn.Sequential(nn.Flatten(), nn.Linear(16, 15))  # any numbers at all (2 channels)
    out = model(x)
    assert (out[..., 0] <= out[..., 1]).all() and (out[..., 1] <= out[..., 2]).all()
    loss = pinball_loss([0.1, 0.5, 0.9])
    targets = torch.zeros(1, 1)
    outputs = torch.tensor([[[-1.0, 1.0, 2.0]]])
    # 0.1 quantile under by 1: 0.1; median over by 1: 0.5; 0.9 over by 2: 0.2
    assert float(loss(outputs, targets)) == pytest.approx((0.1 + 0.5 + 0.2) / 3)
    assert mase(outputs, targets, [0.1, 0.5, 0.9]) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- real searches


@pytest.mark.slow
def test_a_trending_series_is_forecast_past_its_training_range(ray_local, tmp_path):
    history = _monthly(156, slope=1.5)
    train, future = history.iloc[:144], history.iloc[144:]["sales"].to_numpy()
    est = AutoDeep(horizon=12, studies_dir=tmp_path, study="trend", **SEARCH).fit(train)
    forecast = est.predict(train)
    assert forecast.shape == (12,) and forecast.max() > train["sales"].max() + 5
    error = np.abs(forecast - future).mean()
    last_year = np.abs(train["sales"].to_numpy()[-12:] - future).mean()  # 18: the trend's
    assert error < 0.5 * last_year, (error, last_year)
    intervals = est.predict_quantiles(train)
    assert intervals.shape == (12, 3)
    assert (np.diff(intervals, axis=1) >= 0).all()
    assert est.task_.forecast["period"] == 12 and est.task_.forecast["calendar"] == 2
    board = est.leaderboard()
    assert "score" in board and est.task_.metric == "neg_mase"


@pytest.mark.slow
def test_a_long_table_of_several_series_fits_and_predicts_each(capsys, ray_local, tmp_path):
    rows = []
    rng = np.random.default_rng(3)
    for k, length in enumerate([40, 36, 30, 6]):  # the last is too short to train on
        level = 10.0 ** (k + 1)
        values = level * (1 + 0.02 * np.arange(length)) + rng.normal(0, level / 50, length)
        rows += [(f"store-{k}", 2000 + t, v) for t, v in enumerate(values)]
    table = pd.DataFrame(rows, columns=["store_id", "year", "sales"])
    path = tmp_path / "stores.csv"
    table.to_csv(path, index=False)
    code, out, err = cli_in_process(
        capsys, "fit", path, "--horizon", "3", "--budget", "3m", "--max-trials", "1",
        "--max-epochs", "6", "--studies-dir", tmp_path / "studies", "--study", "stores",
        "--quantiles", "0.05,0.95",
    )  # fmt: skip
    assert code == 0, err
    assert "4 series (one per 'store_id')" in err + out
    assert "1 series shorter than" in err + out  # counted in a note, not dropped silently
    assert "the line to beat: " in out
    code, _, err = cli_in_process(
        capsys, "predict", tmp_path / "studies" / "stores", path, "-o", tmp_path / "p.csv"
    )
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "p.csv")
    assert list(frame.columns) == ["id", "time", "step", "prediction", "q5", "q50", "q95"]
    assert frame.groupby("id").size().to_dict() == {f"store-{k}": 3 for k in range(4)}
    assert (frame["q5"] <= frame["q50"]).all() and (frame["q50"] <= frame["q95"]).all()
    assert frame.query("id == 'store-0'")["time"].tolist() == [2040, 2041, 2042]
    # each series at its own level: the global model is scaled per series
    levels = frame.groupby("id")["prediction"].mean()
    assert levels["store-3"] > 50 * levels["store-1"]
    in_process = automl.load(tmp_path / "studies" / "stores").predict(table)
    np.testing.assert_allclose(in_process, frame["prediction"].to_numpy().reshape(4, 3), rtol=1e-5)


def test_quantile_levels_are_checked():
    assert FitOptions.parse({"quantiles": "0.9,0.1"}).quantiles == (0.1, 0.5, 0.9)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        FitOptions.parse({"quantiles": "0.1,1.5"})
    with pytest.raises(ConfigError, match="numbers between 0 and 1"):
        FitOptions.parse({"quantiles": "ten"})


def test_a_long_table_with_two_id_columns_is_refused(capsys, tmp_path):
    table = pd.DataFrame(
        {"store_id": [1] * 30, "item_id": [2] * 30, "day": range(30), "sales": range(30)}
    )
    table.to_csv(tmp_path / "t.csv", index=False)
    assert_cli_error(capsys, "store_id, item_id", "detect", tmp_path / "t.csv", "--horizon", "2")


def test_calendar_channels_go_round_and_need_the_dates():
    months = pd.date_range("2020-01-01", periods=13, freq="MS").strftime("%Y-%m-%d").tolist()
    assert (
        calendar_unit(months) == "month"
        and calendar_unit([str(y) for y in range(1990, 2020)]) == ""
    )
    channels = calendar_channels(months, "month")
    np.testing.assert_allclose(channels[0], channels[12], atol=1e-6)  # a year on: the same place
    # December sits as close to January as February does
    assert np.linalg.norm(channels[11] - channels[0]) == pytest.approx(
        np.linalg.norm(channels[1] - channels[0]), abs=1e-5
    )
    series = np.arange(13, dtype=np.float32)[:, None] + 1
    pre = ForecastPreprocessor.fit([series], ["s"], 3, 6, 1, [0.5], calendar="month")
    assert pre.input_shape() == (6, 3)
    assert pre.last_windows([series], [1.0], [months]).shape == (1, 6, 3)
    with pytest.raises(DataError, match="reads each step's month from its date"):
        pre.last_windows([series], [1.0])
    blank = pre.last_windows([series], [1.0], undated=True)  # for networks that do not read it
    assert (blank[0, :, 1:] == 0).all()


def test_trials_below_the_naive_forecast_are_marked():
    line = line_to_beat({"baselines": {"naive": 1.2, "seasonal naive": 0.9}})
    assert line == ("seasonal naive", -0.9)  # the seasonal one when there is a period
    assert marked_below("", -1.1, line) == "worse than seasonal naive"
    assert marked_below("stopped early by ASHA", -1.0, line).endswith("; worse than seasonal naive")
    assert marked_below("", -0.5, line) == "" and marked_below("", None, line) == ""
    assert line_to_beat(None) is None  # not a forecast, or one of 0.2.0


def test_intervals_are_calibrated_on_the_backtests():
    """Quantiles too narrow are widened until 80 % of the validation values fall inside the
    outer interval, and every quantile moves with it: each step by its own factor where the
    backtests are many, all steps by one where they are few."""
    spread = np.linspace(-2.0, 2.0, 101)
    targets = np.stack([spread, 2 * spread], axis=1)  # in scale units; the 2nd step errs twice
    outputs = np.stack([-np.ones_like(targets), 0 * targets, np.ones_like(targets)], axis=-1)
    scale = interval_scale(outputs, targets, [0.1, 0.5, 0.9])
    assert scale == pytest.approx([1.6, 3.2], abs=0.1)  # |t| <= 1.6 holds 80 % of step 1's
    wider = widen(outputs, scale, [0.1, 0.5, 0.9])
    inside = (targets >= wider[..., 0]) & (targets <= wider[..., 2])
    assert inside.mean(axis=0) == pytest.approx([0.8, 0.8], abs=0.02)
    assert (wider[..., 1] == 0).all()  # the median stays where it was
    few = interval_scale(outputs[::10], targets[::10], [0.1, 0.5, 0.9])  # 11 origins
    assert isinstance(few, float) and 1.6 < few < 3.2
    wider = widen(outputs, few, [0.1, 0.5, 0.9])
    inside = (targets >= wider[..., 0]) & (targets <= wider[..., 2])
    assert inside.mean() == pytest.approx(0.8, abs=0.05)
    assert inside[:, 0].mean() > inside[:, 1].mean()  # one factor: the 1st step over-covered
