"""The RBM machinery, the DBN's greedy pretraining and the autoencoder variants, checked against
exact values (free energies and log-likelihoods by enumeration, Jacobians by autograd) on small
real problems."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from sklearn.datasets import load_digits

from automl.boltzmann import RBM, ContrastiveDivergence, pretrain_greedily
from automl.data.images import CACHE_DIR
from automl.errors import TrialFailed
from automl.search_spaces import get_family
from automl.task_info import TaskInfo
from automl.trainer import TrainingConfig, predict_outputs, train_model

BARS = torch.tensor(  # 2x3 "bars": each row or column of a 2x3 grid switched on
    [
        [1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 1],
        [1, 0, 0, 1, 0, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 0, 0, 1],
    ],
    dtype=torch.float32,
)


def unsupervised_task(input_shape, n=300, **changes) -> TaskInfo:
    task = TaskInfo(
        "image" if len(input_shape) == 3 else "table",
        "none",
        "unsupervised",
        ("autoencoder", "rbm"),
        "",
        n,
        (n, *input_shape),
        input_shape=tuple(input_shape),
        labelled=False,
    )
    return dataclasses.replace(task, **changes)


def digits_images(n: int = 600) -> torch.Tensor:
    """Standardised 8x8 digits, as the image preprocessing makes them."""
    X = load_digits().data[:n] / 16.0
    return torch.from_numpy(((X - X.mean()) / X.std()).reshape(-1, 1, 8, 8).astype(np.float32))


def fit(model, task, X, y, params, epochs: int, n_train: int, on_epoch=None):
    """Train on the first n_train samples and validate on the rest (y None: reconstruct X)."""
    y = X if y is None else y
    return train_model(
        model,
        task,
        (X[:n_train], y[:n_train]),
        (X[n_train:], y[n_train:]),
        TrainingConfig.from_params(params, max_epochs=epochs, patience=epochs),
        on_epoch=on_epoch,
    )


def exact_log_likelihood(rbm: RBM, data: torch.Tensor) -> float:
    """Mean log p(v) of a small Bernoulli RBM, the partition function summed over every v."""
    states = torch.tensor(list(itertools.product([0.0, 1.0], repeat=data.shape[1])))
    with torch.no_grad():
        log_z = torch.logsumexp(-rbm.free_energy(states), dim=0)
        return float((-rbm.free_energy(data) - log_z).mean())


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_free_energy_matches_the_energy_summed_over_hidden_states(visible):
    torch.manual_seed(0)
    rbm = RBM(4, 3, visible)
    with torch.no_grad():
        for p in rbm.parameters():
            p.normal_(0, 0.7)
    v = torch.rand(5, 4) if visible == "bernoulli" else torch.randn(5, 4)
    hidden = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))
    # E(v, h) = -h.W.v - c.h + (Bernoulli: -b.v | Gaussian: |v - b|^2 / 2)
    coupling = v @ rbm.weight.t() @ hidden.t() + (hidden @ rbm.hidden_bias)[None, :]
    if visible == "bernoulli":
        visible_term = -(v @ rbm.visible_bias)
    else:
        visible_term = 0.5 * ((v - rbm.visible_bias) ** 2).sum(dim=1)
    energies = visible_term[:, None] - coupling
    expected = -torch.logsumexp(-energies, dim=1)
    torch.testing.assert_close(rbm.free_energy(v), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("persistent", [False, True])
def test_contrastive_divergence_raises_the_exact_likelihood(persistent):
    torch.manual_seed(0)
    data = BARS.repeat(40, 1)
    rbm = RBM(6, 8, "bernoulli")
    before = exact_log_likelihood(rbm, data)
    divergence = ContrastiveDivergence(steps=1, persistent=persistent)
    optimizer = torch.optim.SGD(rbm.parameters(), lr=0.1, momentum=0.5)
    for _ in range(150):
        for batch in data[torch.randperm(len(data))].split(30):  # last batch smaller: 200 = 6x30+20
            loss = divergence.loss(rbm, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = exact_log_likelihood(rbm, data)
    uniform = -6 * math.log(2)  # what a model knowing nothing assigns
    assert before == pytest.approx(uniform, abs=0.05)
    assert after > before + 2.0, (before, after)  # 5 patterns of 64: log(1/5) = -1.6 is the best
    if persistent:
        assert divergence.chains is not None and divergence.chains.shape == (30, 6)
    assert rbm.pseudo_log_likelihood(data) > -6 * math.log(2)


def test_a_diverged_rbm_fails_the_trial_with_a_reason_not_a_sampling_crash():
    rbm = RBM(4, 3, "gaussian")
    with torch.no_grad():
        rbm.weight.fill_(float("nan"))
    with pytest.raises(TrialFailed, match="the RBM diverged"):
        ContrastiveDivergence(1, False).loss(rbm, torch.randn(8, 4))


def test_greedy_pretraining_trains_each_layer_on_the_one_below():
    torch.manual_seed(0)
    data = BARS.repeat(20, 1)
    rbms = [RBM(6, 10), RBM(10, 4)]
    first_layer_before = rbms[0].weight.detach().clone()
    log = pretrain_greedily(rbms, data, 20, 0.1, 1, False, 16)
    assert [r["layer"] for r in log] == [1] * 20 + [2] * 20
    for layer in (1, 2):
        errors = [r["reconstruction_mse"] for r in log if r["layer"] == layer]
        assert errors[-1] < 0.7 * errors[0], (layer, errors)
    assert not torch.equal(rbms[0].weight, first_layer_before)
    assert all(math.isfinite(r["pseudo_log_likelihood"]) for r in log)


def test_dbn_pretrains_before_its_first_epoch_and_reports_the_phase_with_it():
    X = digits_images()
    y = torch.from_numpy(load_digits().target[:600])
    task = TaskInfo(
        "image",
        "multiclass",
        "image_recognition",
        ("dbn",),
        "",
        500,
        (600, 8, 8, 1),
        n_classes=10,
        input_shape=(1, 8, 8),
        input_range=(float(X.min()), float(X.max())),
    )
    family = get_family("dbn")
    params = {
        "family": "dbn",
        **family.defaults(task),
        "dbn.pretrain_epochs": 3,
        "dbn.train_lr": 0.01,
    }
    torch.manual_seed(0)
    model = family.build(params, task)
    epochs = []
    result = fit(model, task, X, y, params, 2, 500, on_epoch=epochs.append)
    pretraining = epochs[0].extra["pretrain"]
    assert [(r["layer"], r["epoch"]) for r in pretraining] == [(1, 1), (1, 2), (1, 3)] + [
        (2, 1),
        (2, 2),
        (2, 3),
    ]
    assert epochs[0].extra["pretrain_seconds"] == result.pretrain_seconds > 0
    assert "pretrain" not in epochs[1].extra and len(result.history) == 2
    assert result.train_seconds > sum(e.seconds for e in result.history)
    assert result.best_score > 0.3  # ten classes, two epochs of fine-tuning: well above chance

    unpretrained = {**params, "dbn.pretrain_epochs": 0}
    skipped = fit(family.build(unpretrained, task), task, X, y, unpretrained, 1, 500)
    assert skipped.history[0].extra["pretrain"] == [] and skipped.history[0].extra


def test_rbm_family_learns_digits_and_encodes_them_with_its_hidden_units():
    X = digits_images()
    task = unsupervised_task((1, 8, 8), input_range=(float(X.min()), float(X.max())), code_size=32)
    family = get_family("rbm")
    params = {"family": "rbm", **family.defaults(task)}
    assert "rbm.hidden" not in params  # fixed by the code size, not searched
    torch.manual_seed(0)
    model = family.build(params, task)
    epochs = []
    result = fit(model, task, X, None, params, 8, 500, on_epoch=epochs.append)
    errors = [-e.score for e in epochs]
    assert errors[-1] < 0.8 * errors[0], errors
    assert all("pseudo_log_likelihood" in e.extra for e in epochs)
    codes = model.encode(X[500:])
    assert codes.shape == (100, 32) and codes.min() >= 0 and codes.max() <= 1
    assert result.best_score == max(e.score for e in epochs)


@pytest.mark.parametrize("variant", ["deep", "denoising", "contractive"])
def test_autoencoder_variants_train_on_digits(variant):
    X = digits_images()
    task = unsupervised_task((1, 8, 8), code_size=8)
    family = get_family("autoencoder")
    params = {
        "family": "autoencoder",
        **family.defaults(task),
        "autoencoder.variant": variant,
        "autoencoder.contraction": 0.01,
    }
    torch.manual_seed(0)
    model = family.build(params, task)
    result = fit(model, task, X, None, params, 5, 500)
    mse = [-e.score for e in result.history]
    assert mse[-1] < 0.75 * mse[0], mse
    assert model.encode(X[:3]).shape == (3, 8)


def _jacobian_norm(model, x: torch.Tensor) -> float:
    """Mean squared Frobenius norm of d code / d input, exactly, sample by sample."""
    norms = [torch.autograd.functional.jacobian(model.encode, row[None]).pow(2).sum() for row in x]
    return float(torch.stack(norms).mean())


def test_contractive_penalty_estimates_and_shrinks_the_encoder_jacobian():
    X = digits_images(400)
    task = unsupervised_task((1, 8, 8), code_size=8)
    family = get_family("autoencoder")

    def build(variant: str, weight: float = 0.0):
        params = {
            "family": "autoencoder",
            **family.defaults(task),
            "autoencoder.variant": variant,
            "autoencoder.contraction": weight,
        }
        torch.manual_seed(0)
        return family.build(params, task), params

    model, _ = build("contractive", 1.0)
    x = X[:16]
    reconstruction = torch.nn.functional.mse_loss(model(x), x)
    estimates = [float((model.training_loss(x, x) - reconstruction).detach()) for _ in range(400)]
    assert np.mean(estimates) == pytest.approx(_jacobian_norm(model, x), rel=0.1)

    norms = {}
    for variant, weight in (("deep", 0.0), ("contractive", 0.3)):
        model, params = build(variant, weight)
        fit(model, task, X, None, params, 4, 300)
        norms[variant] = _jacobian_norm(model.eval(), X[300:340])
    assert norms["contractive"] < 0.5 * norms["deep"], norms


def test_tied_autoencoder_stores_each_shared_matrix_once(tmp_path):
    task = unsupervised_task((20,), code_size=4)
    family = get_family("autoencoder")
    params = {"family": "autoencoder", **family.defaults(task), "autoencoder.tied": True}
    model = family.build(params, task)
    untied = family.build({**params, "autoencoder.tied": False}, task)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params < sum(p.numel() for p in untied.parameters())
    save_file(model.state_dict(), str(tmp_path / "w.safetensors"))
    again = family.build(params, task)
    again.load_state_dict(load_file(str(tmp_path / "w.safetensors")))
    x = torch.randn(5, 20)
    torch.testing.assert_close(again.eval()(x), model.eval()(x))
    decoder_matrices = [k for k in model.state_dict() if k.startswith("decoder") and "weight" in k]
    assert decoder_matrices == []  # the decoder has only biases of its own


@pytest.mark.parametrize("shape", [(1, 7, 9), (3, 28, 28), (1, 8, 8)])
def test_convolutional_autoencoder_reconstructs_any_image_size(shape):
    task = unsupervised_task(shape, code_size=6)
    family = get_family("autoencoder")
    for blocks in range(1, 4):
        params = {
            "family": "autoencoder",
            **family.defaults(task),
            "autoencoder.layout": "conv",
            "autoencoder.n_blocks": blocks,
            "autoencoder.channels": 8,
        }
        if blocks > 1 and min(shape[1:]) < 2**blocks * 2:
            continue  # the space never offers more halvings than the image allows
        model = family.build(params, task)
        x = torch.randn(2, *shape)
        assert model(x).shape == x.shape and model.encode(x).shape == (2, 6)


def test_searched_code_sizes_and_fixed_code_sizes():
    import optuna

    family = get_family("autoencoder")
    free = unsupervised_task((1, 8, 8))
    fixed = dataclasses.replace(free, code_size=5)
    for seed in range(10):
        sampler = optuna.samplers.RandomSampler(seed=seed)
        trial = optuna.create_study(sampler=sampler).ask()
        params = {"family": "autoencoder", **family.suggest(trial, fixed)}
        assert "autoencoder.code_size" not in params
        assert family.build(params, fixed).encode(torch.randn(2, 1, 8, 8)).shape == (2, 5)
        trial = optuna.create_study(sampler=sampler).ask()
        assert 2 <= family.suggest(trial, free)["autoencoder.code_size"] <= 32


def test_tiny_data_smaller_than_the_batch_trains_every_unlabelled_family():
    """12 samples against batches of 16-64, persistent chains included."""
    X = digits_images(12)
    task = unsupervised_task(
        (1, 8, 8), n=10, input_range=(float(X.min()), float(X.max())), code_size=4
    )
    for name, extra in (
        ("rbm", {"rbm.persistent": True, "rbm.train_batch_size": 64}),
        ("autoencoder", {"autoencoder.train_batch_size": 64}),
    ):
        family = get_family(name)
        params = {"family": name, **family.defaults(task), **extra}
        model = family.build(params, task)
        result = fit(model, task, X, None, params, 2, 10)
        assert len(result.history) == 2 and math.isfinite(result.best_score)
        assert torch.isfinite(predict_outputs(model, X)).all()


# ------------------------------------------------------------------ searches and bad input


@pytest.mark.slow
def test_dbn_search_records_pretraining_as_its_own_phase(
    ray_local, studies_dir, breast_cancer_frame
):
    from automl import AutoDeep
    from automl.study import load_trials

    frame, y = breast_cancer_frame
    est = AutoDeep(
        budget="3m",  # 6 trials end it
        families=["dbn"],
        studies_dir=studies_dir,
        max_epochs=4,
        max_trials=6,
        random_state=0,
        verbose=False,
    ).fit(frame, y)
    trained = [t for t in load_trials(est.study_dir_) if t.user_attrs.get("epochs_completed")]
    assert len(trained) >= 3
    for trial in trained:
        metrics = json.loads(
            (est.study_dir_ / "trials" / str(trial.number) / "metrics.json").read_text()
        )
        assert len(metrics) == trial.user_attrs["epochs_completed"]  # pretraining is no epoch
        assert metrics[0]["extra"]["pretrain"][0]["layer"] == 1
        assert all("pretrain" not in m["extra"] for m in metrics[1:])
        pretrain_s = trial.user_attrs["pretrain_time_s"]
        assert 0 < pretrain_s < trial.user_attrs["train_time_s"]
    assert est.score(frame, y) > 0.9


@pytest.mark.slow
def test_rbm_search_on_a_table_with_a_constant_feature_and_missing_values(
    ray_local, studies_dir, breast_cancer_frame
):
    from automl import AutoDeep

    frame, _ = breast_cancer_frame
    frame = frame.assign(constant=1.0)  # missing values are in 'mean radius' and 'site'
    est = AutoDeep(
        budget="3m",  # 6 trials end it
        families=["rbm"],
        code_size=6,
        studies_dir=studies_dir,
        max_epochs=4,
        max_trials=6,
        verbose=False,
    ).fit(frame)
    codes = est.transform(frame.head(20))
    assert codes.shape == (20, 6) and codes.min() >= 0 and codes.max() <= 1
    scores = est.score_samples(frame)
    assert scores.shape == (len(frame),) and np.isfinite(scores).all()
    board = est.leaderboard()
    assert (board["family"] == "rbm").all() and (board["status"] == "complete").any()


def test_blank_images_and_other_bad_unlabelled_input_fail_in_one_line(tmp_path, capsys):
    from PIL import Image

    from tests.support.cli import assert_cli_error

    blank = tmp_path / "blank"
    blank.mkdir()
    for i in range(12):
        Image.fromarray(np.zeros((8, 8), np.uint8), mode="L").save(blank / f"{i}.png")
    studies = tmp_path / "studies"
    assert_cli_error(
        capsys,
        "All 10 training samples are the same",
        *("fit", blank, "--budget", "30s", "--studies-dir", studies, "--quiet"),
    )
    # no half-made study is left (the decoded images may be cached beside the studies)
    assert not studies.exists() or {p.name for p in studies.iterdir()} <= {CACHE_DIR}
    labelled = tmp_path / "labelled"
    for label in "ab":
        (labelled / label).mkdir(parents=True)
        for i in range(6):
            pixels = np.full((8, 8), 40 * i, np.uint8)
            Image.fromarray(pixels, mode="L").save(labelled / label / f"{i}.png")
    assert_cli_error(
        capsys, "--code-size sets the code width", "detect", labelled, "--code-size", "4"
    )
    assert_cli_error(capsys, "--code-size must be an integer", "detect", blank, "--code-size", "0")


def test_nan_in_images_is_refused_before_any_search(tmp_path):
    from automl import AutoDeep
    from automl.errors import DataError

    images = load_digits().images[:40].copy()
    images[3, 2, 2] = np.nan
    with pytest.raises(DataError, match="NaN or infinite"):
        # a 3-D array with NaN would be read as padded series; the modality says images
        AutoDeep(budget="30s", studies_dir=tmp_path, verbose=False, modality="image").fit(images)
