from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from automl.errors import TrialFailed
from automl.search_spaces import get_family
from automl.task_info import TaskInfo
from automl.trainer import Split, TrainingConfig, lr_at, to_tensors, train_model, train_networks
from tests.support.series_task import series_task


def _breast_cancer_task():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    task = TaskInfo(
        "table",
        "binary",
        "classification",
        ("mlp",),
        "",
        len(X),
        X.shape,
        n_classes=2,
        input_shape=(30,),
    )
    train = to_tensors(X[:450], y[:450], task)
    val = to_tensors(X[450:], y[450:], task)
    return task, train, val


def test_mlp_learns_breast_cancer_and_reports_every_epoch():
    task, train, val = _breast_cancer_task()
    mlp = get_family("mlp")
    params = {"family": "mlp", **mlp.defaults(task)}
    torch.manual_seed(0)
    model = mlp.build(params, task)
    seen = []
    result = train_model(
        model, task, train, val, TrainingConfig.from_params(params, 10, 5), on_epoch=seen.append
    )
    assert [s.epoch for s in seen] == list(range(1, len(seen) + 1))
    assert result.best_score >= 0.93
    assert seen[-1].finished
    # the model holds the best epoch's weights
    outputs = model.eval()(val[0]).argmax(1)
    assert float((outputs == val[1]).float().mean()) == pytest.approx(result.best_score)


def test_a_diverging_run_raises_trial_failed():
    task, train, val = _breast_cancer_task()
    mlp = get_family("mlp")
    params = {
        "family": "mlp",
        **mlp.defaults(task),
        "mlp.batch_norm": False,
        "mlp.train_optimizer": "sgd",
        "mlp.train_lr": 1e12,
        "mlp.train_schedule": "constant",
    }
    model = mlp.build(params, task)
    with pytest.raises(TrialFailed, match="loss became"):
        train_model(model, task, train, val, TrainingConfig.from_params(params, 20, 20))


def test_learning_rate_warms_up_then_decays():
    rates = [lr_at(step, 100, 1.0, "cosine") for step in range(100)]
    assert rates[0] < rates[4] == pytest.approx(1.0)
    assert rates[-1] < 0.01
    assert lr_at(50, 100, 1.0, "constant") == 1.0
    assert np.all(np.diff(rates[5:]) <= 1e-12)


def test_a_stop_between_folds_fixed_features_ends_training_before_the_next_fold():
    """Fixed features (random kernels) take seconds a fold; a trial stopped by the budget or
    the scheduler while they are computed stops at the next fold, not after all of them."""
    task = series_task(30, 40)
    family = get_family("conv1d")
    params = {
        "family": "conv1d",
        "conv1d.kernels": "random",
        "conv1d.layout": "minirocket",
        "conv1d.n_features": 2000,
        "conv1d.head": "ridge",
    }
    models = [family.build(params, task) for _ in range(3)]
    X = torch.randn(30, 40, 1, generator=torch.Generator().manual_seed(0))
    y = torch.arange(30) % 2
    splits = [
        Split(
            (X[rows != fold], y[rows != fold]),
            (X[rows == fold], y[rows == fold]),
            torch.nonzero(rows == fold)[:, 0],
        )
        for rows in [torch.arange(30) % 3]
        for fold in range(3)
    ]
    asked = []
    result = train_networks(
        models,
        task,
        splits,
        TrainingConfig(max_epochs=3),
        interrupt=lambda: asked.append(1) or len(asked) > 1,  # stop once the first fold is done
    )
    assert result.stop_reason == "interrupted" and result.epochs_completed == 0
    assert [bool(m.biases.abs().sum() > 0) for m in models] == [True, False, False]
