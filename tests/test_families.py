"""Walk the whole registry: every family builds, trains a step and keeps its promises on every
row it claims to support."""

from __future__ import annotations

import dataclasses

import optuna
import pytest
import torch

from automl.families import available_families
from automl.task import TaskInfo

TASKS = {
    "classification": TaskInfo(
        "table",
        "multiclass",
        "classification",
        ("mlp",),
        "",
        300,
        (300, 12),
        n_classes=3,
        input_shape=(12,),
    ),
    "regression": TaskInfo(
        "table", "regression", "regression", ("mlp",), "", 300, (300, 12), input_shape=(12,)
    ),
    "image_recognition": TaskInfo(
        "image",
        "multiclass",
        "image_recognition",
        ("cnn",),
        "",
        300,
        (300, 28, 28, 1),
        n_classes=10,
        input_shape=(1, 28, 28),
    ),
}
CASES = [
    (name, row)
    for name, family in sorted(available_families().items())
    for row in sorted(family.supports)
]


def _sampled_params(family, task, seed):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    return {"family": family.name, **family.suggest(trial, task)}


@pytest.mark.parametrize(("name", "row"), CASES)
def test_family_builds_trains_and_gives_the_right_shape(name, row):
    family = available_families()[name]
    task = TASKS[row]
    for params in [{"family": name, **family.defaults(task)}] + [
        _sampled_params(family, task, seed) for seed in range(4)
    ]:
        torch.manual_seed(0)
        model = family.build(params, task)
        x = torch.randn(8, *task.input_shape)
        out = model(x)
        assert out.shape == (8, task.output_dim)
        assert torch.isfinite(out).all()
        target = torch.randint(0, task.output_dim, (8,)) if task.is_classification else None
        loss = (
            torch.nn.functional.cross_entropy(out, target)
            if task.is_classification
            else out.pow(2).mean()
        )
        loss.backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(("name", "row"), CASES)
def test_defaults_are_a_point_of_the_search_space(name, row):
    """Defaults are enqueued as the first trial: they must replay through suggest() unchanged."""
    family = available_families()[name]
    task = TASKS[row]
    defaults = family.defaults(task)
    replayed = family.suggest(optuna.trial.FixedTrial(defaults), task)
    assert replayed == defaults
    assert all(key.startswith(f"{name}.") for key in defaults)


def test_cnn_depth_is_bounded_by_the_image_size():
    family = available_families()["cnn"]
    small = dataclasses.replace(TASKS["image_recognition"], input_shape=(1, 8, 8))
    sizes = {_sampled_params(family, small, seed)["cnn.n_blocks"] for seed in range(30)}
    assert max(sizes) <= 2
