"""A forecasting TaskInfo as prepare_data makes one (period 4, three quantiles, positive values),
for tests that build forecasters without preparing data."""

from __future__ import annotations

from automl.task_info import TaskInfo

LEVELS = {"none": [1.0, 0.5], "log": [0.0, 0.5], "boxcox": [0.0, 0.5]}


def forecast_task(input_shape: tuple[int, int], levels: dict | None = None) -> TaskInfo:
    """`levels`: the training values' (mean, spread) under each transform it offers."""
    return TaskInfo(
        "series",
        "forecasting",
        "time_series",
        ("rnn",),
        "",
        300,
        (4, 300, input_shape[1]),
        input_shape=input_shape,
        horizon=5,
        labelled=False,
        forecast={
            "period": 4,
            "quantiles": [0.1, 0.5, 0.9],
            "positive": True,
            "boxcox_lambda": 0.5,
            "levels": LEVELS if levels is None else levels,
        },
    )
