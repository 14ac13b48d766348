"""A labelled series TaskInfo as prepare_data makes one, for tests that build series networks
(fixed kernels, 1-D CNNs) without preparing data."""

from __future__ import annotations

from automl.task_info import TaskInfo


def series_task(n: int, steps: int, classes: int = 2, channels: int = 1) -> TaskInfo:
    """`n` series of `steps` steps and `channels` features each, in `classes` classes."""
    return TaskInfo(
        "series",
        "binary" if classes == 2 else "multiclass",
        "time_series",
        ("conv1d",),
        "",
        n,
        (n, steps, channels),
        n_classes=classes,
        input_shape=(steps, channels),
    )
