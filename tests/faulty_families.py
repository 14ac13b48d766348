"""Two deliberately broken families, registered through the public registry, to check that a
failing trial is recorded with its reason and the search goes on."""

from __future__ import annotations

from torch import nn

from automl.families import Family, register_family

ROWS = frozenset({"classification", "image_recognition"})


def _no_params(trial, task):
    return {}


def _defaults(task):
    return {}


class _Broken(nn.Module):
    def __init__(self, task) -> None:
        super().__init__()
        self.linear = nn.Linear(1, task.output_dim)

    def forward(self, x):
        raise RuntimeError("this family raises on purpose")


class _NaN(nn.Module):
    def __init__(self, task) -> None:
        super().__init__()
        self.linear = nn.Linear(1, task.output_dim)

    def forward(self, x):
        return self.linear(x.new_full((len(x), 1), float("nan")))


RAISES = register_family(
    Family("raises", ROWS, _no_params, lambda params, task: _Broken(task), _defaults)
)
NAN = register_family(Family("nan", ROWS, _no_params, lambda params, task: _NaN(task), _defaults))
