"""Restricted Boltzmann machines trained by contrastive divergence, and their greedy stacking.

Shared by the `rbm` family (one RBM models unlabelled data) and the `dbn` family (RBMs
pretrained one layer at a time, then fine-tuned with labels), as the guide describes.

CD-k is written as a loss: the gradient of mean F(v_data) - mean F(v_model), with v_model drawn
by k Gibbs steps and held constant, is the contrastive-divergence estimate of the negative
log-likelihood gradient (F is the free energy). So the shared optimisers (SGD with momentum,
weight decay) train an RBM exactly as they train any other network.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from automl.budget import Deadline
from automl.errors import TrialFailed
from automl.trainer import MIN_STEPS_PER_EPOCH

VISIBLE_UNITS = ("bernoulli", "gaussian")
INIT_STD = 0.01  # Hinton's practical guide: small random weights, zero biases
MOMENTUM_SWITCH_EPOCH = 5  # momentum 0.5 before this pretraining epoch, 0.9 from it on


class RBM(nn.Module):
    """Bernoulli hidden units over Bernoulli visible units (values in [0, 1]) or Gaussian
    visible units of unit variance (standardised values)."""

    def __init__(self, n_visible: int, n_hidden: int, visible: str = "bernoulli") -> None:
        super().__init__()
        if visible not in VISIBLE_UNITS:
            raise ValueError(f"visible units must be one of {VISIBLE_UNITS}; got {visible!r}")
        self.visible = visible
        self.weight = nn.Parameter(torch.randn(n_hidden, n_visible) * INIT_STD)
        self.visible_bias = nn.Parameter(torch.zeros(n_visible))
        self.hidden_bias = nn.Parameter(torch.zeros(n_hidden))

    def hidden_probs(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.weight, self.hidden_bias))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """As a layer of a network: its hidden units' probabilities. (A call, not
        `hidden_probs`, so the architecture summary's hooks see the layer.)"""
        return self.hidden_probs(v)

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        activation = F.linear(h, self.weight.t(), self.visible_bias)
        return torch.sigmoid(activation) if self.visible == "bernoulli" else activation

    def gibbs(self, v: torch.Tensor, steps: int) -> torch.Tensor:
        """`steps` rounds of v -> h -> v: hidden states are sampled, visible ones take their
        expected values (Hinton's practical guide, 3.2: less sampling noise in the negative
        statistics; on digits it halves the reconstruction error and sharpens the features).

        Raises TrialFailed when the chain holds NaN or infinite values (the RBM diverged), not
        torch.bernoulli's opaque error on invalid probabilities.
        """
        for _ in range(steps):
            probabilities = self.hidden_probs(v)
            if not torch.isfinite(probabilities).all():
                raise TrialFailed(
                    "the RBM diverged (its Gibbs chain reached NaN or infinite values); a lower "
                    "learning rate or Bernoulli visible units keep it stable"
                )
            v = self.visible_mean(torch.bernoulli(probabilities))
        return v

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) per sample: p(v) is proportional to exp(-F(v))."""
        hidden = F.softplus(F.linear(v, self.weight, self.hidden_bias)).sum(dim=1)
        if self.visible == "bernoulli":
            return -(v @ self.visible_bias) - hidden
        return 0.5 * ((v - self.visible_bias) ** 2).sum(dim=1) - hidden

    def reconstruct(self, v: torch.Tensor) -> torch.Tensor:
        """Mean-field reconstruction: the expected visible values given p(h | v)."""
        return self.visible_mean(self.hidden_probs(v))

    @torch.no_grad()
    def pseudo_log_likelihood(self, v: torch.Tensor) -> float:
        """Mean stochastic pseudo-log-likelihood per sample (one random unit flipped per sample,
        as scikit-learn's BernoulliRBM.score_samples); defined for Bernoulli visible units."""
        if self.visible != "bernoulli" or len(v) == 0:
            return math.nan
        rows = torch.arange(len(v), device=v.device)
        flip = torch.randint(v.shape[1], (len(v),), device=v.device)
        flipped = v.clone()
        flipped[rows, flip] = 1 - flipped[rows, flip]
        gap = self.free_energy(flipped) - self.free_energy(v)
        return float((v.shape[1] * F.logsigmoid(gap)).mean())


class ContrastiveDivergence:
    """CD-k, or persistent CD (PCD) when `persistent`: the negative phase's Gibbs chains carry
    over from batch to batch instead of restarting at the data."""

    def __init__(self, steps: int, persistent: bool) -> None:
        self.steps = steps
        self.persistent = persistent
        self.chains: torch.Tensor | None = None

    def loss(self, rbm: RBM, v: torch.Tensor) -> torch.Tensor:
        chains = self.chains if self.persistent else None
        reuse = chains is not None and len(chains) >= len(v)
        start = chains[: len(v)] if reuse else v
        with torch.no_grad():
            negative = rbm.gibbs(start, self.steps)
        if self.persistent:  # a smaller last batch advances only the chains it used
            self.chains = torch.cat([negative, chains[len(v) :]]) if reuse else negative
        return rbm.free_energy(v).mean() - rbm.free_energy(negative).mean()


def pretrain_greedily(
    rbms: list[RBM],
    data: torch.Tensor,
    epochs: int,
    lr: float,
    cd_steps: int,
    persistent: bool,
    batch_size: int,
    deadline: Deadline | None = None,
) -> list[dict[str, Any]]:
    """Train each RBM on the hidden probabilities of the one below it (the first on `data`).

    SGD with momentum 0.5 for the first epochs and 0.9 once the weights have settled (Hinton's
    guide). An epoch is at least `MIN_STEPS_PER_EPOCH` updates, as in fine-tuning. Stops early
    when the deadline passes; the layers not reached keep their initial weights. Returns one
    record per layer and epoch: reconstruction MSE of that layer's input, pseudo-log-likelihood
    and time.
    """
    log: list[dict[str, Any]] = []
    n = len(data)
    batch_size = max(1, min(batch_size, n))
    passes = max(1, math.ceil(MIN_STEPS_PER_EPOCH / math.ceil(n / batch_size)))
    for layer, rbm in enumerate(rbms):
        optimizer = torch.optim.SGD(rbm.parameters(), lr=lr, momentum=0.5)
        divergence = ContrastiveDivergence(cd_steps, persistent)
        for epoch in range(1, epochs + 1):
            if deadline is not None and deadline.expired():
                return log
            started = time.perf_counter()
            if epoch == MOMENTUM_SWITCH_EPOCH:
                for group in optimizer.param_groups:
                    group["momentum"] = 0.9
            order = torch.cat([torch.randperm(n, device=data.device) for _ in range(passes)])
            for start in range(0, len(order), batch_size):
                loss = divergence.loss(rbm, data[order[start : start + batch_size]])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                error = float(((rbm.reconstruct(data) - data) ** 2).mean())
            if not math.isfinite(error):
                raise TrialFailed(
                    f"RBM layer {layer + 1} diverged in pretraining epoch {epoch} "
                    f"(learning rate {lr:.2g})"
                )
            log.append(
                {
                    "layer": layer + 1,
                    "epoch": epoch,
                    "reconstruction_mse": error,
                    "pseudo_log_likelihood": rbm.pseudo_log_likelihood(data),
                    "seconds": time.perf_counter() - started,
                }
            )
        with torch.no_grad():
            data = rbm.hidden_probs(data)
    return log


class VisibleScaling(nn.Module):
    """Maps a network's (standardised) inputs onto the units of the first RBM and back.

    Bernoulli visible units need values in [0, 1]: inputs are shifted and scaled by the range
    seen in the training rows (`TaskInfo.input_range`; for images exactly pixels / 255) and
    clipped. Gaussian visible units take the standardised inputs as they are.
    """

    def __init__(self, visible: str, input_range: tuple[float, float] | None) -> None:
        super().__init__()
        low, high = input_range if visible == "bernoulli" and input_range else (0.0, 1.0)
        span = high - low if high - low > 1e-12 else 1.0
        self.bernoulli = visible == "bernoulli"
        self.register_buffer("low", torch.tensor(float(low)), persistent=False)
        self.register_buffer("span", torch.tensor(float(span)), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return ((x - self.low) / self.span).clamp(0.0, 1.0) if self.bernoulli else x

    def inverse(self, v: torch.Tensor) -> torch.Tensor:
        return v * self.span + self.low if self.bernoulli else v
