"""Walk the whole registry: every family builds, trains a step and keeps its promises on every
row it claims to support."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import optuna
import pytest
import torch

from automl.export import example_inputs  # inputs as preprocessing makes them, padded
from automl.families import prefixed
from automl.search_spaces import available_families
from automl.task_info import TaskInfo
from automl.trainer import batch_objective
from tests.support.forecast_task import forecast_task
from tests.support.series_task import series_task

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
        input_range=(-3.0, 3.0),
    ),
    "regression": TaskInfo(
        "table",
        "regression",
        "regression",
        ("mlp",),
        "",
        300,
        (300, 12),
        input_shape=(12,),
        input_range=(-3.0, 3.0),
    ),
    "image_recognition": TaskInfo(
        "image",
        "multiclass",
        "image_recognition",
        ("cnn",),
        "",
        300,
        (300, 64, 64, 1),
        n_classes=10,
        input_shape=(1, 64, 64),  # photos at a working side: 32 or 64 px is searched
        input_range=(-1.0, 2.5),
    ),
    "text_processing": TaskInfo(
        "text",
        "binary",
        "text_processing",
        ("rnn",),
        "",
        300,
        (300,),
        n_classes=2,
        input_shape=(20,),
        vocab_size=50,
    ),
    "speech_recognition": TaskInfo(
        "audio",
        "multiclass",
        "speech_recognition",
        ("rnn",),
        "",
        300,
        (300,),
        n_classes=4,
        input_shape=(30, 40),
    ),
    "time_series": TaskInfo(
        "series",
        "multiclass",
        "time_series",
        ("rnn",),
        "",
        300,
        (300, 16, 3),
        n_classes=3,
        input_shape=(16, 3),
    ),
    # a forecaster's windows: NaN before a series began, three quantiles per step
    "forecasting": forecast_task((16, 3)),
    "unsupervised": TaskInfo(
        "image",
        "none",
        "unsupervised",
        ("autoencoder",),
        "",
        300,
        (300, 8, 8, 1),
        input_shape=(1, 8, 8),
        labelled=False,
        input_range=(-1.0, 2.5),
    ),
}


CASES = [
    (name, row)
    for name, family in sorted(available_families().items())
    for row in sorted(family.supports)
] + [  # the time-series families forecast too
    (name, "forecasting")
    for name, family in sorted(available_families().items())
    if "time_series" in family.supports
]


def _sampled_params(family, task, seed):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    trial = study.ask()
    return {"family": family.name, **family.suggest(trial, task)}


@pytest.mark.parametrize(("name", "row"), CASES)
def test_family_builds_trains_and_gives_the_right_shape(name, row):
    family = available_families()[name]
    task = TASKS[row]
    alternatives = family.alternatives(task) if family.alternatives else []
    smallest = [family.smallest(task)] if family.smallest else []
    for params in [
        {"family": name, **family.defaults(task)},
        *({"family": name, **values} for values in [*alternatives, *smallest]),
        *(_sampled_params(family, task, seed) for seed in range(4)),
    ]:
        torch.manual_seed(0)
        model = family.build(params, task)
        x = example_inputs(task, 8)
        out = model(x)
        expected = task.input_shape if task.target_kind == "none" else (task.output_dim,)
        if task.forecast is not None:
            expected = (task.horizon, len(task.forecast["quantiles"]))
        assert out.shape == (8, *expected)
        assert torch.isfinite(out).all()
        if hasattr(model, "biases"):  # random kernels: fitted biases
            assert model.pretrain(x, 4, None) == [] and model.biases.abs().sum() > 0
            assert model.fixed_inputs(x).shape == (8, model.n_fixed)
        elif callable(getattr(model, "pretrain", None)):  # a DBN's greedy phase, one epoch
            log = model.pretrain(x, 4, None)
            assert log and all(math.isfinite(r["reconstruction_mse"]) for r in log)
        if task.is_classification:
            targets = torch.randint(0, task.output_dim, (8,))
        elif task.target_kind == "none":
            targets = x
        elif task.forecast is not None:
            targets = torch.randn(8, task.horizon)
        else:
            targets = torch.randn(8, task.output_dim)
        model.train()
        batch_objective(model, task)(x, targets).backward()  # the loss the trainer minimises
        grads = [p.grad for p in model.parameters() if p.requires_grad]
        assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize(("name", "row"), CASES)
def test_defaults_are_a_point_of_the_search_space(name, row):
    """Defaults (and the smallest configuration) are enqueued: they must replay through
    suggest() unchanged."""
    family = available_families()[name]
    task = TASKS[row]
    alternatives = family.alternatives(task) if family.alternatives else []
    smallest = [family.smallest(task)] if family.smallest else []
    for defaults in [family.defaults(task), *alternatives, *smallest]:
        replayed = family.suggest(optuna.trial.FixedTrial(defaults), task)
        assert replayed == defaults
        assert all(key.startswith(f"{name}.") for key in defaults)


SEQUENCE_CASES = [
    (name, row)
    for name, row in CASES
    if row in ("text_processing", "time_series", "speech_recognition")
]


@pytest.mark.parametrize(("name", "row"), SEQUENCE_CASES)
def test_sequence_outputs_ignore_padding(name, row):
    """A sequence gives the same output alone and padded in a batch with a longer one, for
    every sampled architecture (poolings, directions, residuals) and the alternatives (random
    kernels on raw series)."""
    family = available_families()[name]
    task = TASKS[row]
    alternatives = family.alternatives(task) if family.alternatives else []
    for params in [
        *(_sampled_params(family, task, seed) for seed in range(6)),
        *({"family": name, **values} for values in alternatives),
    ]:
        if task.target_kind == "forecasting":
            continue  # a forecaster's windows are never padded
        model = family.build(params, task).eval()
        batch = example_inputs(task, n=2)  # row 0 is padded from the middle, row 1 is full
        half = task.input_shape[0] // 2
        with torch.no_grad():
            together = model(batch)[0]
            alone = model(batch[:1, :half])[0]
        torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_the_ridge_head_is_ridge_classifier_cv_then_frozen_and_scaled():
    """Random kernels' closed-form head equals scikit-learn's RidgeClassifierCV (MiniRocket's
    head: the same penalties, chosen by leave-one-out error) on features where the penalty
    matters; the epochs then train its scale alone."""
    from sklearn.linear_model import RidgeClassifierCV

    from automl.search_spaces.conv1d import RIDGE_ALPHAS

    family = available_families()["conv1d"]
    task = TASKS["time_series"]
    ridge = next(p for p in family.alternatives(task) if p["conv1d.head"] == "ridge")
    model = family.build({"family": "conv1d", **ridge}, task)
    y = torch.arange(60) % 3
    features = torch.zeros(60, model.n_fixed)  # 3 informative, 27 noise, the rest constant
    features[:, :30] = torch.randn(60, 30, generator=torch.Generator().manual_seed(0))
    features[:, :3] += 1.5 * torch.nn.functional.one_hot(y, 3)
    model.fit_head(features, y)
    reference = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(features.double().numpy(), y.numpy())
    assert RIDGE_ALPHAS[0] < reference.alpha_ < RIDGE_ALPHAS[-1]  # not an end of the grid
    torch.testing.assert_close(model.head.weight.double(), torch.from_numpy(reference.coef_))
    torch.testing.assert_close(model.head.bias.double(), torch.from_numpy(reference.intercept_))
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["log_scale"]


def test_minirocket_layout_is_minirocket_transform():
    """MiniRocket's features by their definition, one kernel, dilation and bias at a time:
    kernels of -1 with 2 at three of nine taps over the zero-padded series, the share of
    outputs above each bias over every step, or, for alternate kernels, the steps where the
    kernel does not reach the padding. Its dilations for 1 460 steps are MiniRocket's."""
    from automl.search_spaces.conv1d import MINIROCKET_TAPS, minirocket_dilations

    # aeon 1.6.0's _fit_dilations(1460, 10_000, 32), ACSF1's length
    assert minirocket_dilations(1460, 10_000) == (
        [1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 24, 28, 34, 40, 47, 56, 66, 78, 93]
        + [110, 130, 154, 182],
        [19, 8, 8] + [4] * 15 + [3] * 8,
    )
    steps = 60
    task = series_task(8, steps)
    params = {"kernels": "random", "layout": "minirocket", "n_features": 2000, "normalise": False}
    model = available_families()["conv1d"].build(
        {"family": "conv1d", **prefixed(params, "conv1d")}, task
    )
    x = torch.randn(3, steps, 1, generator=torch.Generator().manual_seed(0)).cumsum(dim=1)
    model.fit_biases(x)
    series, biases = x[..., 0].double().numpy(), model.biases.double().numpy()
    expected, at = [], 0
    for j, (dilation, per) in enumerate(zip(model.dilations, model.per_dilation, strict=True)):
        padded = np.pad(series, ((0, 0), (4 * dilation, 4 * dilation)))
        for k, taps in enumerate(MINIROCKET_TAPS):
            weights = np.full(9, -1.0)
            weights[list(taps)] = 2.0
            out = sum(
                w * padded[:, g * dilation : g * dilation + steps] for g, w in enumerate(weights)
            )
            if (j + k) % 2:  # only where the kernel misses the padding
                out = out[:, 4 * dilation : steps - 4 * dilation]
            for b in biases[at : at + per]:
                expected.append((out > b).mean(axis=1))
            at += per
    ours = model.features(x).double().numpy()
    assert ours.shape == (3, model.n_fixed) == (3, at)
    np.testing.assert_allclose(ours, np.stack(expected, axis=1), atol=1.5 / steps)
    close = np.isclose(ours, np.stack(expected, axis=1), atol=1e-6)
    assert close.mean() > 0.999  # a bias equal to an output may round either way


def test_forecasters_search_their_input_window():
    task = TASKS["forecasting"]
    for name in ("rnn", "conv1d"):
        family = available_families()[name]
        windows = {_sampled_params(family, task, seed)[f"{name}.lookback"] for seed in range(20)}
        assert min(windows) >= 4 and max(windows) <= task.input_shape[0] and len(windows) > 3


def test_cnn_depth_is_bounded_by_the_image_size():
    family = available_families()["cnn"]
    small = dataclasses.replace(TASKS["image_recognition"], input_shape=(1, 8, 8))
    sizes = {_sampled_params(family, small, seed)["cnn.n_blocks"] for seed in range(30)}
    assert max(sizes) <= 2


def built_in_families() -> dict:
    return {
        name: family
        for name, family in available_families().items()
        if family.build.__module__.startswith("automl.search_spaces.")
    }


def test_the_decision_table_and_the_families_agree():
    """Every family a row prescribes can learn that row; every row a family claims is a row of
    the table (or "forecasting", which N-BEATS claims), and each built-in family is prescribed
    by at least one row or by forecasting (a family may claim more rows than prescribe it:
    --families mlp on images)."""
    from automl.task import DECISION_TABLE, FORECASTING_FAMILIES

    families = built_in_families()
    for row, entry in DECISION_TABLE.items():
        for name in entry.families:
            assert row in families[name].supports, (row, name)
    rows = {*DECISION_TABLE, "forecasting"}  # forecasting-only families claim a kind, not a row
    for name, family in families.items():
        assert family.supports <= rows, (name, family.supports)
        prescribed = [
            *FORECASTING_FAMILIES,
            *(f for e in DECISION_TABLE.values() for f in e.families),
        ]
        assert name in prescribed, name
    for name in FORECASTING_FAMILIES:
        assert families[name].supports == {"forecasting"}, name
    assert set(TASKS) == rows


def test_a_family_names_each_parameter_once():
    """The trial records `<family>.<name>`; the family reads and writes `<name>`."""
    from automl.families import Hyperparameters, family_params, prefixed

    study = optuna.create_study()
    trial = study.ask()
    hp = Hyperparameters(trial, "mlp")
    layers = hp.int("n_layers", 1, 3)
    widths = [hp.int(f"width_{i}", 8, 64, log=True) for i in range(layers)]
    hp.categorical("activation", {"relu": None, "gelu": None})  # a mapping's keys are choices
    hp.float("dropout", 0.0, 0.5)
    assert set(trial.params) == {f"mlp.{k}" for k in hp.values}
    assert (
        hp.values["n_layers"] == layers
        and [hp.values[f"width_{i}"] for i in range(layers)] == widths
    )
    assert family_params(prefixed(hp.values, "mlp"), "mlp") == hp.values
    spec = available_families()["mlp"]
    params = spec.suggest(optuna.create_study().ask(), TASKS["classification"])
    assert params and all(k.startswith("mlp.") for k in params)


def test_small_tables_try_a_linear_model_first():
    """The MLP's depth-0 alternatives (LDA, then logistic regression) are offered on a small
    table only, and each is one linear layer (the LDA's with its scale); past 2 000 inputs
    LDA is not offered."""
    family = available_families()["mlp"]
    small = TASKS["classification"]
    assert small.n_samples <= 2000
    lda, logistic = family.alternatives(small)
    assert (lda["mlp.head"], logistic["mlp.head"]) == ("discriminant", "trained")
    for linear in (lda, logistic):
        model = family.build({"family": "mlp", **linear}, small)
        layers = [m for m in model.modules() if not list(m.children())]
        assert [type(m).__name__ for m in layers if list(m.parameters())] == ["Linear"]
    (least_squares,) = family.alternatives(TASKS["regression"])
    assert "mlp.head" not in least_squares
    wide = dataclasses.replace(small, input_shape=(2001,))  # LDA's covariance too big
    (logistic_only,) = family.alternatives(wide)
    assert "mlp.head" not in logistic_only
    study = optuna.create_study()
    study.enqueue_trial({"mlp.n_layers": 0})  # the depth at which a head is chosen
    linear = family.suggest(study.ask(), wide)
    assert linear["mlp.n_layers"] == 0 and "mlp.head" not in linear
    study.enqueue_trial({"mlp.n_layers": 0})
    assert "mlp.head" in family.suggest(study.ask(), small)  # the check can fail
    assert family.alternatives(dataclasses.replace(small, n_samples=50_000)) == []
    assert family.alternatives(TASKS["image_recognition"]) == []


def test_the_discriminant_head_is_lda_then_frozen():
    """The linear model's LDA head gives scikit-learn's LinearDiscriminantAnalysis'
    probabilities (unshrunk, on iris, and on a table with a one-hot column set whose
    covariance is singular); fully shrunk it is the nearest class mean with the class
    priors. The epochs then train its scale alone."""
    from sklearn.datasets import load_iris
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    family = available_families()["mlp"]
    X, y = load_iris(return_X_y=True)
    onehot = np.eye(3)[np.random.default_rng(0).integers(0, 3, len(X))]
    for table in (X, np.hstack([X, onehot])):
        task = dataclasses.replace(TASKS["classification"], input_shape=(table.shape[1],))
        lda = {"family": "mlp", **family.alternatives(task)[0]}
        model = family.build(lda, task)
        inputs = torch.tensor(table, dtype=torch.float32)
        assert model.fit_head(model.fixed_inputs(inputs), torch.from_numpy(y))
        with torch.no_grad():
            ours = model(inputs).softmax(dim=1).double().numpy()
        reference = LinearDiscriminantAnalysis().fit(table, y).predict_proba(table)
        np.testing.assert_allclose(ours, reference, atol=1e-5)
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["log_scale"]

    model = family.build({**lda, "mlp.shrinkage": 1.0}, task)
    labels = np.concatenate([y[:140], y[:10]])  # unequal priors: 60, 50 and 40 rows
    model.fit_head(inputs, torch.from_numpy(labels))
    means = np.stack([table[labels == k].mean(axis=0) for k in range(3)])
    level = np.mean(np.var(table - means[labels], axis=0))
    scores = -((table[:, None] - means[None]) ** 2).sum(-1) / (2 * level)
    scores += np.log(np.bincount(labels) / len(labels))
    np.testing.assert_array_equal(model(inputs).argmax(dim=1).numpy(), scores.argmax(axis=1))
