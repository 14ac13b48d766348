"""Building blocks shared by the families: activations, matched initialisation, dense blocks."""

from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}
LEAKY_SLOPE = 0.01  # nn.LeakyReLU's default, used for its Kaiming gain too


def make_activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


def init_for_activation(module: nn.Module, activation: str) -> None:
    """He (Kaiming) init for the ReLU family, so signals keep their scale through depth.

    GELU/SiLU/ELU behave like ReLU for positive inputs; the ReLU gain is the usual choice there.
    """
    nonlinearity = "leaky_relu" if activation == "leaky_relu" else "relu"
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, a=LEAKY_SLOPE, nonlinearity=nonlinearity)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def dense_block(
    in_features: int, out_features: int, activation: str, batch_norm: bool, dropout: float
) -> nn.Sequential:
    """Linear -> [BatchNorm] -> activation -> [Dropout]."""
    layers: list[nn.Module] = [nn.Linear(in_features, out_features, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_features))
    layers.append(make_activation(activation))
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_summary(model: nn.Module, input_shape: tuple[int, ...]) -> list[dict]:
    """Leaf layers with output shapes and parameter counts, from a forward pass on `meta`.

    The model must have been built under `torch.device("meta")`: no memory is allocated.
    """
    rows: list[dict] = []
    hooks = []
    for name, layer in model.named_modules():
        if next(layer.children(), None) is not None:
            continue

        def record(mod: nn.Module, _inputs, output, name: str = name) -> None:
            shape = list(output.shape[1:]) if isinstance(output, torch.Tensor) else []
            rows.append(
                {
                    "name": name,
                    "type": type(mod).__name__,
                    "output_shape": shape,
                    "params": sum(p.numel() for p in mod.parameters(recurse=False)),
                }
            )

        hooks.append(layer.register_forward_hook(record))
    try:
        with torch.no_grad():
            model.eval()(torch.empty((2, *input_shape), device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return rows
