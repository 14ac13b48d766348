"""Autoencoder: the guide's net for unlabelled data, trained to reconstruct its input.

Variants (searched): deep (plain reconstruction), denoising (Gaussian noise on the input, its
level searched) and contractive (a penalty on the encoder's Jacobian, its weight searched).
Layouts: a symmetric dense encoder/decoder, with tied (the decoder reuses the encoder's
transposed matrices) or untied weights; for images also a convolutional one (strided
convolutions down, transposed convolutions up). The code size is searched unless the user
fixed it (`--code-size`). Plus the shared optimiser space.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from automl.families import Hyperparameters, register_family_module
from automl.layers import ACTIVATIONS, init_for_activation, make_activation
from automl.search_spaces._training import suggest_training, training_defaults
from automl.task_info import TaskInfo

NAME = "autoencoder"
SUPPORTS = frozenset({"unsupervised"})
SUMMARY = "autoencoder: deep, denoising or contractive; dense (tied or not) or conv"
VARIANTS = ("deep", "denoising", "contractive")
MAX_LAYERS = 3
MAX_CONV_BLOCKS = 3
MIN_CONV_SIDE = 2  # each convolutional block halves the image; stop before 2x2


def _limits(task: TaskInfo) -> tuple[int, int]:
    """(widest hidden layer, largest searched code): codes narrower than the input."""
    features = math.prod(task.input_shape)
    return max(16, min(1024, 4 * features)), max(2, min(64, features // 2))


def _conv_blocks(task: TaskInfo) -> int:
    """How many halvings an image input allows; 0 for inputs that are not images."""
    if len(task.input_shape) != 3:
        return 0
    side = min(task.input_shape[1:])
    return max(0, min(MAX_CONV_BLOCKS, int(math.log2(side / MIN_CONV_SIDE))))


def suggest(hp: Hyperparameters, task: TaskInfo) -> None:
    widest, largest_code = _limits(task)
    variant = hp.categorical("variant", VARIANTS)
    if variant == "denoising":
        hp.float("noise", 0.05, 0.5)
    if variant == "contractive":
        hp.float("contraction", 1e-5, 1.0, log=True)
    layouts = ["dense", "conv"] if _conv_blocks(task) else ["dense"]
    if hp.categorical("layout", layouts) == "conv":
        hp.int("n_blocks", 1, _conv_blocks(task))
        hp.int("channels", 8, 64, log=True)
    else:
        for i in range(hp.int("n_layers", 1, MAX_LAYERS)):
            hp.int(f"width_{i}", 16, widest, log=True)
        hp.categorical("tied", [False, True])
    if task.code_size is None:
        hp.int("code_size", 2, largest_code, log=True)
    hp.categorical("activation", ACTIVATIONS)
    suggest_training(hp, task)


def defaults(task: TaskInfo) -> dict[str, Any]:
    widest, largest_code = _limits(task)
    params = {
        "variant": "denoising",
        "noise": 0.1,
        "layout": "dense",
        "n_layers": 2,
        "width_0": min(256, widest),
        "width_1": min(128, widest),
        "tied": False,
        "activation": "relu",
        **training_defaults(task),
    }
    if task.code_size is None:
        params["code_size"] = min(16, largest_code)
    return params


class TiedLinear(nn.Module):
    """A decoder layer reusing an encoder layer's weights transposed; only its bias is its own.

    The encoder layer is held outside the module tree (in a tuple), so the shared matrix is
    stored once in state dicts and safetensors files.
    """

    def __init__(self, source: nn.Linear) -> None:
        super().__init__()
        self._source = (source,)
        self.bias = nn.Parameter(torch.zeros(source.in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self._source[0].weight.t(), self.bias)


def _dense(hp: dict[str, Any], input_shape: tuple[int, ...], code: int):
    sizes = [math.prod(input_shape), *(hp[f"width_{i}"] for i in range(hp["n_layers"])), code]
    linears = [nn.Linear(a, b) for a, b in zip(sizes, sizes[1:], strict=False)]
    encoder: list[nn.Module] = [nn.Flatten()]
    for i, linear in enumerate(linears):
        encoder.append(linear)
        if i < len(linears) - 1:
            encoder.append(make_activation(hp["activation"]))
    decoder: list[nn.Module] = []
    for i, linear in enumerate(reversed(linears)):
        decoder.append(
            TiedLinear(linear) if hp["tied"] else nn.Linear(linear.out_features, linear.in_features)
        )
        if i < len(linears) - 1:
            decoder.append(make_activation(hp["activation"]))
    decoder.append(nn.Unflatten(1, tuple(input_shape)))
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


class _Crop(nn.Module):
    """Cut transposed-convolution output back to the image size (odd sides round up)."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : self.height, : self.width]


def _conv(hp: dict[str, Any], input_shape: tuple[int, ...], code: int):
    channels, height, width = input_shape
    widths = [hp["channels"] * 2**i for i in range(hp["n_blocks"])]
    encoder: list[nn.Module] = []
    in_ch, side_h, side_w = channels, height, width
    for out_ch in widths:
        encoder += [nn.Conv2d(in_ch, out_ch, 3, stride=2, padding=1)]
        encoder.append(make_activation(hp["activation"]))
        in_ch, side_h, side_w = out_ch, (side_h + 1) // 2, (side_w + 1) // 2
    inner = (in_ch, side_h, side_w)
    encoder += [nn.Flatten(), nn.Linear(math.prod(inner), code)]
    decoder: list[nn.Module] = [
        nn.Linear(code, math.prod(inner)),
        make_activation(hp["activation"]),
        nn.Unflatten(1, inner),
    ]
    for i, out_ch in enumerate([*reversed(widths[:-1]), channels]):
        decoder.append(nn.ConvTranspose2d(in_ch, out_ch, 4, stride=2, padding=1))
        if i < len(widths) - 1:
            decoder.append(make_activation(hp["activation"]))
        in_ch = out_ch
    decoder.append(_Crop(height, width))
    return nn.Sequential(*encoder), nn.Sequential(*decoder)


class AutoEncoder(nn.Module):
    def __init__(self, hp: dict[str, Any], task: TaskInfo) -> None:
        super().__init__()
        code = task.code_size or hp["code_size"]
        layout = _conv if hp["layout"] == "conv" else _dense
        self.encoder, self.decoder = layout(hp, tuple(task.input_shape), code)
        init_for_activation(self, hp["activation"])
        self.noise = hp.get("noise", 0.0)
        self.contraction = hp.get("contraction", 0.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise > 0:
            x = x + self.noise * torch.randn_like(x)  # denoising: reconstruct the clean input
        return self.decoder(self.encoder(x))

    def training_loss(self, x: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Reconstruction MSE, plus for a contractive autoencoder the squared Frobenius norm of
        the encoder's Jacobian, estimated with one random probe (E|J^T e|^2 = |J|_F^2), so the
        penalty costs one extra backward pass at any depth."""
        if self.contraction <= 0:
            return F.mse_loss(self(x), targets)
        x = x.detach().requires_grad_(True)
        code = self.encoder(x)
        loss = F.mse_loss(self.decoder(code), targets)
        (jacobian_t_probe,) = torch.autograd.grad(
            code, x, torch.randn_like(code), create_graph=True
        )
        return loss + self.contraction * jacobian_t_probe.pow(2).flatten(1).sum(dim=1).mean()


def build(hp: dict[str, Any], task: TaskInfo) -> nn.Module:
    return AutoEncoder(hp, task)


FAMILY = register_family_module(__name__)
