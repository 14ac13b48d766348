"""MLP: fully connected ReLU-family layers, the guide's net for tables (and flattened images).

Searched: depth, width per layer, activation, dropout, batch normalisation; He init matched to
the activation; plus the shared optimiser space. Depth 0 is a linear model (multinomial logistic
regression, or least squares): on small tables LDA and logistic regression beat every deeper
net, so the search must be able to find one, and it is a different kind of member for the
ensemble. A classifier's linear model has a searched head: trained by the epochs (logistic
regression), or linear discriminant analysis in closed form (`LinearDiscriminant`: the same
linear layer, its weights from the class means and the shrunk pooled covariance). LDA's shared
covariance is the prior that wins on tiny tables: iris, 10-fold CV, LDA 98.0 % where logistic
regression scores 97.3 %.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from automl.families import Hyperparameters, register_family_module
from automl.layers import ACTIVATIONS, dense_block, init_for_activation
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "mlp"
SUPPORTS = frozenset({"classification", "regression", "image_recognition"})
SUMMARY = "multilayer perceptron (ReLU family, batch norm, dropout)"
MAX_LAYERS = 4


def max_width(task: TaskInfo) -> int:
    """Upper bound on layer width that grows with the data (small data, small nets)."""
    return int(min(1024, max(64, 2 ** math.ceil(math.log2(max(task.n_samples, 2)) - 1))))


SMALL_ROWS = 2000  # up to this many rows, the linear model is tried first (an alternative)
# inputs up to which LDA is offered: its covariance is features x features, decomposed once
# per fold (2 000: 1 s here; 4 000: 11 s, uninterruptible)
LDA_MAX_FEATURES = 2000


def offers_discriminant(task: TaskInfo) -> bool:
    return task.is_classification and math.prod(task.input_shape) <= LDA_MAX_FEATURES


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    n_layers = hp.int("n_layers", 0, MAX_LAYERS)
    if not n_layers and offers_discriminant(task):
        if hp.categorical("head", ["discriminant", "trained"]) == "discriminant":
            hp.float("shrinkage", 0.0, 1.0)
    for i in range(n_layers):
        hp.int(f"width_{i}", 16, max_width(task), log=True)
    if n_layers:
        hp.categorical("activation", ACTIVATIONS)
        hp.float("dropout", 0.0, 0.5)
        hp.categorical("batch_norm", [True, False])
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    width = min(256, max_width(task))
    return {
        "n_layers": 2,
        "width_0": width,
        "width_1": max(16, width // 2),
        "activation": "relu",
        "dropout": 0.1,
        "batch_norm": True,
        **training_defaults(task),
    }


def alternatives(task: TaskInfo) -> list[dict[str, Any]]:
    """The linear model, on a small table: its rows cannot tell a deep net from noise. A
    classifier's first as LDA unshrunk (scikit-learn's default), then logistic regression
    (only the latter past LDA_MAX_FEATURES inputs)."""
    if task.modality != "table" or task.n_samples > SMALL_ROWS:
        return []
    linear = {"n_layers": 0, **training_defaults(task, lr=1e-2)}
    if not offers_discriminant(task):
        return [linear]
    return [{**linear, "head": "discriminant", "shrinkage": 0.0}, {**linear, "head": "trained"}]


class LinearDiscriminant(nn.Module):
    """A linear layer whose weights are LDA's (the trainer's `fit_head` hook, on its
    training rows): class k's logit is x' S^-1 m_k - m_k' S^-1 m_k / 2 + log p_k, with m_k the
    class means, p_k their shares and S the pooled within-class covariance shrunk towards
    its mean variance, (1 - shrinkage) S + shrinkage tr(S)/d I. Those logits are LDA's exact
    posterior; the epochs then train only their scale (a temperature), as the ridge head's.
    Directions of S with no variance (one-hot columns summing to one) are left out, as
    scikit-learn's SVD solver does."""

    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        self.n_fixed = math.prod(task.input_shape)  # the trainer's fixed_inputs hook
        self.shrinkage = hp["shrinkage"]
        self.head = nn.Linear(self.n_fixed, task.output_dim)
        self.log_scale = nn.Parameter(torch.zeros(()))

    def fixed_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    def from_fixed(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features) * self.log_scale.exp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_fixed(self.fixed_inputs(x))

    @torch.no_grad()
    def fit_head(self, features: torch.Tensor, targets: torch.Tensor) -> bool:
        X, y = features.double(), targets.long()
        n_classes = self.head.out_features
        counts = torch.bincount(y, minlength=n_classes).double()
        means = torch.zeros(n_classes, X.shape[1], dtype=X.dtype).index_add_(0, y, X)
        means /= counts.clamp_min(1.0)[:, None]
        centred = X - means[y]
        covariance = centred.T @ centred / len(X)  # scikit-learn's (its priors' weighting)
        level = covariance.diagonal().mean()
        shrunk = (1 - self.shrinkage) * covariance
        shrunk.diagonal().add_(self.shrinkage * level)
        values, vectors = torch.linalg.eigh(shrunk)
        kept = values > values.max().clamp_min(1e-12) * 1e-8
        inverse = (vectors[:, kept] / values[kept]) @ vectors[:, kept].T
        weight = means @ inverse  # (classes, features)
        prior = torch.log(counts / len(X)).clamp_min(-1e4)  # a class absent from these rows
        self.head.weight.copy_(weight.to(self.head.weight.dtype))
        self.head.bias.copy_((prior - 0.5 * (weight * means).sum(dim=1)).to(self.head.bias.dtype))
        self.head.requires_grad_(False)  # the epochs train the scale alone
        return True

    @torch.no_grad()
    def fit_all_rows(self, X: torch.Tensor, y: torch.Tensor, folds: list[nn.Module]) -> bool:
        """(the finish's hook) LDA on all of a cross-validated study's rows, the scale the
        mean of its fold networks' (each fitted on its held-out rows)."""
        self.fit_head(self.fixed_inputs(X), y)
        self.log_scale.copy_(torch.stack([f.log_scale for f in folds]).mean())
        return True


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    if hp.get("head") == "discriminant":
        return LinearDiscriminant(hp, task)
    layers: list[nn.Module] = [nn.Flatten()]
    width = math.prod(task.input_shape)
    for i in range(hp["n_layers"]):
        out = hp[f"width_{i}"]
        layers.append(dense_block(width, out, hp["activation"], hp["batch_norm"], hp["dropout"]))
        width = out
    layers.append(nn.Linear(width, task.output_dim))
    model = nn.Sequential(*layers)
    if hp["n_layers"]:
        init_for_activation(model, hp["activation"])
    return model


FAMILY = register_family_module(__name__)
