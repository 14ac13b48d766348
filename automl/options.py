"""The options of a fit, parsed and validated in one place.

The CLI builds them from its arguments, the estimators from `get_params()`, both through
`FitOptions.parse`, so a new option is one field here (plus its flag and its parameter).
Budget and trial counts given here are the study's totals; what one run may spend is worked
out from them (automl.study_run).

    >>> FitOptions.parse({"budget": "30m", "families": "mlp,dbn", "seed": 3})   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.budget import parse_budget, parse_duration
from automl.errors import ConfigError

DEFAULT_BUDGET_S = 600.0
MAX_SEED = 2**32


SELECTIONS = ("auto", "cv", "holdout")


@dataclass(frozen=True)
class FitOptions:
    """What a fit was asked to do; every value is checked when it is made (also by
    dataclasses.replace). `parse` reads what users write: a budget like "30m", families as
    "mlp,dbn" or a list."""

    study_budget_s: float | None = None  # the whole study's; None: 10 minutes, or as recorded
    task: str = "auto"
    families: tuple[str, ...] | None = None
    seed: int = 0
    studies_dir: Path = Path("studies")
    study: str | None = None
    address: str | None = None  # a Ray cluster; None: $RAY_ADDRESS, else a local Ray
    max_epochs: int | None = None  # None: by the budget (automl.budget.epochs_for_budget)
    code_size: int | None = None
    verbose: bool = True
    resume: bool = False  # continue the named study with what is left of its budget
    study_max_trials: int | None = None  # trials in the whole study; None: until the budget
    concurrent_trials: int | None = None
    trial_timeout_s: float | None = None
    gpus_per_trial: float | None = None
    quantiles: tuple[float, ...] | None = None  # a forecast's; None: 0.1, 0.5, 0.9
    selection: str = "auto"  # how trials are scored: cv, holdout, or auto (automl.selection)

    # What a resumed study keeps from its first run, whatever the resuming command says: the
    # search must stay the same search.
    RECORDED = ("task", "families", "seed", "max_epochs", "code_size", "quantiles", "selection")

    @classmethod
    def parse(cls, given: Mapping[str, Any]) -> FitOptions:
        """Options from the names users write: `budget`, `max_trials`, `trial_timeout` (as
        durations or seconds), `families` (a list or "a,b"), `seed` (None: 0), and the fields
        above by their own names. Names that are not fit options (data options such as
        `modality`) are left to the data's reader."""
        values = {k: v for k, v in given.items() if k in _FIELDS}
        budget = given.get("budget")
        timeout = given.get("trial_timeout")
        values.update(
            study_budget_s=None if budget in (None, "") else parse_budget(budget),
            study_max_trials=given.get("max_trials"),
            trial_timeout_s=None
            if timeout in (None, "")
            else parse_duration(timeout, "--trial-timeout"),
            families=_families(given.get("families")),
            quantiles=_quantiles(given.get("quantiles")),
            seed=0 if given.get("seed") is None else given["seed"],
            studies_dir=Path(given.get("studies_dir") or "studies"),
        )
        return cls(**values)

    def __post_init__(self) -> None:
        """Reject bad values before any work is done or any study directory is made."""
        seed = self.seed
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < MAX_SEED:
            raise ConfigError(f"The seed must be an integer from 0 to 2**32-1; got {seed!r}.")
        positive = {
            "max_epochs (--max-epochs)": self.max_epochs,
            "max_trials (--max-trials)": self.study_max_trials,
            "concurrent_trials (--concurrent-trials)": self.concurrent_trials,
        }
        for name, value in positive.items():
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer; got {value!r}.")
        if self.trial_timeout_s is not None and self.trial_timeout_s <= 0:
            raise ConfigError(
                f"The trial timeout must be a positive duration; got {self.trial_timeout_s!r}."
            )
        gpus = self.gpus_per_trial
        if gpus is not None and not (0 <= gpus <= 1 or (gpus > 1 and float(gpus).is_integer())):
            raise ConfigError(
                f"--gpus-per-trial must be a fraction from 0 to 1 (e.g. 0.25: four trials share "
                f"a GPU) or a whole number of GPUs; got {gpus!r}."
            )
        if self.quantiles is not None and not (
            self.quantiles and all(0 < q < 1 for q in self.quantiles)
        ):
            raise ConfigError(
                f"--quantiles are levels between 0 and 1, such as 0.1,0.5,0.9; got "
                f"{list(self.quantiles)!r}."
            )
        if self.selection not in SELECTIONS:
            raise ConfigError(
                f"--selection must be one of {', '.join(SELECTIONS)}; got {self.selection!r}."
            )
        if self.families is not None:
            from automl.search_spaces import get_family

            for name in self.families:
                get_family(name)  # unknown names raise with the list of valid ones

    def with_recorded(self, recorded: Mapping[str, Any]) -> FitOptions:
        """These options, with what a resumed study recorded of its first run."""
        kept = {k: recorded[k] for k in self.RECORDED if k in recorded}
        for key in ("families", "quantiles"):
            if kept.get(key) is not None:
                kept[key] = tuple(kept[key])
        return dataclasses.replace(self, **kept)

    def recorded(self) -> dict[str, Any]:
        """What config.json keeps of them, for a resume."""
        values = {k: getattr(self, k) for k in self.RECORDED}
        for key in ("families", "quantiles"):
            values[key] = None if values[key] is None else list(values[key])
        return values


_FIELDS = {f.name for f in dataclasses.fields(FitOptions)}


def _families(value: Any) -> tuple[str, ...] | None:
    """ "mlp,cnn", ["mlp", "cnn"] or "mlp" -> ("mlp", "cnn"); empty -> None."""
    if not value:
        return None
    names = value.split(",") if isinstance(value, str) else list(value)
    chosen = tuple(str(n).strip() for n in names if str(n).strip())
    return chosen or None


def _quantiles(value: Any) -> tuple[float, ...] | None:
    """ "0.1,0.9" or [0.1, 0.9] -> (0.1, 0.5, 0.9): sorted, the median always among them (it is
    the point forecast); empty -> None."""
    if value is None or value == "":
        return None
    texts = value.split(",") if isinstance(value, str) else list(value)
    try:
        levels = {round(float(str(t).strip()), 6) for t in texts if str(t).strip()}
    except ValueError as exc:
        raise ConfigError(
            f"--quantiles are numbers between 0 and 1, such as 0.1,0.5,0.9; got {value!r}."
        ) from exc
    return tuple(sorted(levels | {0.5}))
