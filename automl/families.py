"""The family registry: model families register by name; the engine looks them up.

Each built-in family lives in one file under `search_spaces/` with the same small surface,
registered by `register_family_module(__name__)` at its end (importing automl.search_spaces
registers them all, and is how the rest of the code looks families up):

    NAME = "mlp"; SUPPORTS = frozenset({...}); SUMMARY = "..."
    def suggest(hp: Hyperparameters, task) -> None     # hp.int("width_0", 16, 256, log=True)
    def defaults(task) -> dict                          # {"width_0": 64, ...}
    def build(hp: dict, task) -> nn.Module              # hp["width_0"]
    def alternatives(task) -> list[dict]                # optional: more points to try first

A family writes each parameter name once, without a prefix: the registry stores it as
`<family>.<name>` (so each family's parameters are modelled apart by the sampler, and a study or
bundle names them unambiguously). Nothing else in the code branches on family names.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from automl.errors import ConfigError

if TYPE_CHECKING:
    import optuna
    from torch import nn

    from automl.task_info import TaskInfo

Params = dict[str, Any]


@dataclass(frozen=True)
class Family:
    """A searchable model family, in the prefixed form the engine and bundles use.

    `suggest(trial, task)` asks Optuna for parameters (names prefixed with `name.`);
    `build(params, task)` turns them into an `nn.Module` (pure: no training, no I/O);
    `defaults(task)` is a cheap known-good parameter set that is tried first;
    `alternatives(task)`, further known-good sets, of another kind, tried once every family's
    default has been; `smallest(task)`, optional, the cheapest configuration worth
    training, tried when one of its networks was too slow for a trial's time;
    `classes_only`: it classifies, never regresses (a module's `CLASSES_ONLY = True`);
    `grace_epochs(params)`, optional, the epochs a configuration trains before early stopping
    may judge it (a slow starter's: the scheduler's own grace otherwise).
    Families of a user's own may be registered in this form directly.
    """

    name: str
    supports: frozenset[str]
    suggest: Callable[[optuna.Trial, TaskInfo], Params]
    build: Callable[[Params, TaskInfo], nn.Module]
    defaults: Callable[[TaskInfo], Params]
    summary: str = ""
    alternatives: Callable[[TaskInfo], list[Params]] | None = None
    classes_only: bool = False
    smallest: Callable[[TaskInfo], Params] | None = None
    grace_epochs: Callable[[Params], int] | None = None


class Hyperparameters:
    """A family's view of an Optuna trial: it names a parameter once (`hp.int("width", ...)`),
    the trial records it as `<family>.width`, and `values` keeps what was chosen.

    >>> hp = Hyperparameters(trial, "mlp")              # doctest: +SKIP
    >>> hp.int("n_layers", 1, 4)                        # doctest: +SKIP
    """

    def __init__(self, trial: optuna.Trial, family: str) -> None:
        self._trial = trial
        self._prefix = f"{family}."
        self.values: Params = {}

    def int(self, name: str, low: int, high: int, *, log: bool = False) -> int:
        return self._keep(name, self._trial.suggest_int(self._prefix + name, low, high, log=log))

    def float(self, name: str, low: float, high: float, *, log: bool = False) -> float:
        value = self._trial.suggest_float(self._prefix + name, low, high, log=log)
        return self._keep(name, value)

    def categorical(self, name: str, choices: Iterable[Any]) -> Any:
        value = self._trial.suggest_categorical(self._prefix + name, list(choices))
        return self._keep(name, value)

    def _keep(self, name: str, value: Any) -> Any:
        self.values[name] = value
        return value


def prefixed(values: Params, name: str) -> Params:
    """{'width_0': 64} -> {'mlp.width_0': 64}."""
    return {f"{name}.{k}": v for k, v in values.items()}


def family_params(params: Params, name: str) -> Params:
    """The parameters of one family, without its prefix: {'mlp.width_0': 64} -> {'width_0': 64}."""
    prefix = f"{name}."
    return {k[len(prefix) :]: v for k, v in params.items() if k.startswith(prefix)}


_REGISTRY: dict[str, Family] = {}


def register_family(family: Family) -> Family:
    """Add a family to the registry (a later registration of the same name replaces it)."""
    _REGISTRY[family.name] = family
    return family


def register_family_module(module_name: str) -> Family:
    """Register the family a module defines with the surface above (NAME, SUPPORTS, SUMMARY,
    suggest, defaults, build), wrapping its unprefixed names into the prefixed `Family`."""
    module = sys.modules[module_name]
    name: str = module.NAME

    def suggest(trial: optuna.Trial, task: TaskInfo) -> Params:
        hp = Hyperparameters(trial, name)
        module.suggest(hp, task)
        return prefixed(hp.values, name)

    def defaults(task: TaskInfo) -> Params:
        return prefixed(module.defaults(task), name)

    def build(params: Params, task: TaskInfo) -> nn.Module:
        hp = family_params(params, name)
        from automl.forecaster import Forecaster, is_forecaster  # torch only when building

        if is_forecaster(hp, task):  # every forecasting core runs inside the same wrapper
            return Forecaster(hp, task, lambda core_task: module.build(hp, core_task))
        return module.build(hp, task)

    def alternatives(task: TaskInfo) -> list[Params]:
        return [prefixed(values, name) for values in module.alternatives(task)]

    def smallest(task: TaskInfo) -> Params:
        return prefixed(module.smallest(task), name)

    def grace_epochs(params: Params) -> int:
        return module.grace_epochs(family_params(params, name))

    build.__module__ = module_name  # where a worker imports it from (engine.ship_user_families)
    return register_family(
        Family(
            name,
            frozenset(module.SUPPORTS),
            suggest,
            build,
            defaults,
            module.SUMMARY,
            alternatives if hasattr(module, "alternatives") else None,
            getattr(module, "CLASSES_ONLY", False),
            smallest if hasattr(module, "smallest") else None,
            grace_epochs if hasattr(module, "grace_epochs") else None,
        )
    )


def registered_families() -> dict[str, Family]:
    """The families registered so far. The built-in ones register when automl.search_spaces
    is imported: look families up through it (its available_families / get_family)."""
    return dict(_REGISTRY)


def lookup_family(name: str) -> Family:
    """A registered family; an unknown name raises ConfigError listing the valid ones."""
    if name not in _REGISTRY:
        raise ConfigError(
            f"Unknown model family '{name}'; available: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]
