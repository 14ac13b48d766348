"""The define-by-run search space: pick a family, then ask that family for its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from automl.layers import count_parameters, layer_summary
from automl.search_spaces import get_family
from automl.study import write_json
from automl.task_info import TaskInfo
from automl.trial_record import SUMMARY_FILE, Attr, trial_dir

TRIAL_NUMBER_KEY = "trial_number"  # how a trial's configuration names its Optuna trial


class SearchSpace:
    """Called with an Optuna trial; returns what the trial function needs beyond the
    suggested parameters (its number).

    A class rather than a closure so Tune can pickle the searcher with its experiment state.
    It also writes each trial's architecture summary (computed on the `meta` device, no memory).
    """

    def __init__(self, task: TaskInfo, study_dir: Path, run_id: str) -> None:
        self.task = task
        self.study_dir = Path(study_dir)
        self.run_id = run_id

    def __call__(self, trial: Any) -> dict[str, Any]:
        family_name = trial.suggest_categorical("family", list(self.task.families))
        family = get_family(family_name)
        params = {"family": family_name, **family.suggest(trial, self.task)}
        trial.set_user_attr(Attr.FAMILY, family_name)
        trial.set_user_attr(Attr.RUN_ID, self.run_id)  # after the last parameter
        summary: dict[str, Any] = {"number": trial.number, "family": family_name, "params": params}
        try:
            with torch.device("meta"):
                model = family.build(params, self.task)
                summary["n_params"] = count_parameters(model)
                trial.set_user_attr(Attr.N_PARAMS, summary["n_params"])
                summary["layers"] = layer_summary(
                    model, self.task.input_shape, tokens=self.task.vocab_size is not None
                )
        except Exception as exc:  # noqa: BLE001 - the trial itself fails and records why
            summary["error"] = f"{type(exc).__name__}: {exc}"
        write_json(trial_dir(self.study_dir, trial.number) / SUMMARY_FILE, summary)
        return {TRIAL_NUMBER_KEY: trial.number}


def fallback_points(task: TaskInfo) -> dict[str, dict[str, Any]]:
    """Per family that has one, its smallest configuration: enqueued once when one of its
    networks fails as too slow for a trial's time (automl.engine.recorder)."""
    families = {name: get_family(name) for name in task.families}
    return {
        name: {"family": name, **family.smallest(task)}
        for name, family in families.items()
        if family.smallest is not None
    }


def default_points(task: TaskInfo) -> list[dict[str, Any]]:
    """Each family's default configuration, then their alternatives: the first trials of a
    new study."""
    families = {name: get_family(name) for name in task.families}
    points = [{"family": name, **family.defaults(task)} for name, family in families.items()]
    for name, family in families.items():
        if family.alternatives is not None:
            points += [{"family": name, **values} for values in family.alternatives(task)]
    return points
