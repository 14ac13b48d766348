"""The family registry: model families register by name; the engine looks them up.

Each family lives in one file under `search_spaces/` and registers a `Family`; nothing else
in the code branches on family names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.errors import ConfigError

if TYPE_CHECKING:
    import optuna
    from torch import nn

    from automl.task import TaskInfo

Params = dict[str, Any]


@dataclass(frozen=True)
class Family:
    """A searchable model family.

    `suggest(trial, task)` asks Optuna for parameters (names prefixed with `name.`);
    `build(params, task)` turns them into an `nn.Module` (pure: no training, no I/O);
    `defaults(task)` is a cheap known-good parameter set that is tried first.
    """

    name: str
    supports: frozenset[str]
    suggest: Callable[[optuna.Trial, TaskInfo], Params]
    build: Callable[[Params, TaskInfo], nn.Module]
    defaults: Callable[[TaskInfo], Params]
    summary: str = ""


_REGISTRY: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family to the registry (a later registration of the same name replaces it)."""
    _REGISTRY[family.name] = family
    return family


def _ensure_builtin_families() -> None:
    import automl.search_spaces  # noqa: F401 - importing registers the built-in families


def available_families() -> dict[str, Family]:
    _ensure_builtin_families()
    return dict(_REGISTRY)


def get_family(name: str) -> Family:
    families = available_families()
    if name not in families:
        raise ConfigError(
            f"Unknown model family '{name}'; available: {', '.join(sorted(families))}."
        )
    return families[name]


def family_params(params: Params, name: str) -> Params:
    """The parameters of one family, without its prefix: {'mlp.width_0': 64} -> {'width_0': 64}."""
    prefix = f"{name}."
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}
