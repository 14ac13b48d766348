"""Building blocks shared by the families: activations, matched initialisation, dense blocks,
and the reading of padded sequences."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from automl.task_info import TaskInfo

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


def layer_summary(
    model: nn.Module, input_shape: tuple[int, ...], tokens: bool = False
) -> list[dict]:
    """Leaf layers with output shapes and parameter counts, from a forward pass on `meta`.

    The model must have been built under `torch.device("meta")`: no memory is allocated.
    `tokens`: the input is integer token ids. A network whose forward pass depends on its
    input's values (a tree's shape) lists its rows itself (`layer_rows()`).
    """
    if hasattr(model, "layer_rows"):
        return model.layer_rows()
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
            dtype = torch.long if tokens else torch.float32
            model.eval()(torch.zeros((2, *input_shape), device="meta", dtype=dtype))
    finally:
        for hook in hooks:
            hook.remove()
    return rows


class SequenceInput(nn.Module):
    """Token ids (n, T) through an embedding, or series (n, T, F) whose all-NaN steps pad.

    Returns (values (n, T, D), mask (n, T), True where a step is real), so sequence families
    share one reading of padding. `lookback` keeps only the last steps (a forecaster's window
    is searched inside the longest window the preprocessing cut). `tokens`: rows of parse
    trees, whose first `tokens` columns are the words (the tree follows them); `dropout`
    drops whole word vectors (embedding dropout, for small corpora).
    """

    def __init__(
        self,
        n_features: int,
        vocab_size: int | None,
        embed_dim: int,
        lookback: int = 0,
        tokens: int | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.embed = (
            nn.Embedding(vocab_size, embed_dim, padding_idx=0) if vocab_size is not None else None
        )
        self.out_features = embed_dim if vocab_size is not None else n_features
        self.lookback = lookback
        self.tokens = tokens
        self.dropout = dropout

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.lookback:
            x = x[:, -self.lookback :]
        if self.tokens is not None:
            x = x[:, : self.tokens]
        if self.embed is not None:
            h = self.embed(x)
            if self.training and self.dropout > 0:  # the same word dropped as a whole
                keep = torch.rand(h.shape[:2], device=h.device) >= self.dropout
                h = h * keep[..., None] / (1 - self.dropout)
            return h, x != 0
        return torch.nan_to_num(x, nan=0.0), ~torch.isnan(x).all(dim=-1)


def real_span(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(first, last) index of each sequence's real steps: padding trails a batch's shorter
    sequences and leads a forecaster's windows of a series that began inside them."""
    steps = torch.arange(mask.shape[1], device=mask.device)[None, :]
    last = torch.where(mask, steps, 0).amax(dim=1)
    first = torch.where(mask, steps, mask.shape[1] - 1).amin(dim=1)
    return torch.minimum(first, last), last


def reverse_real_steps(x: torch.Tensor, first: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's real steps in place, leaving its padding where it is, so a
    backward recurrent pass starts at the sequence's own end rather than in the padding."""
    steps = torch.arange(x.shape[1], device=x.device)[None, :]
    inside = (steps >= first[:, None]) & (steps <= last[:, None])
    index = torch.where(inside, first[:, None] + last[:, None] - steps, steps)
    return torch.gather(x, 1, index[..., None].expand_as(x))


def masked_pool(h: torch.Tensor, mask: torch.Tensor, how: str) -> torch.Tensor:
    """Summarise (n, T, D) over real steps: mean or max."""
    if how == "max":
        return h.masked_fill(~mask[..., None], -torch.inf).amax(dim=1)
    weights = mask[..., None].to(h.dtype)
    return (h * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


class AttentionPool(nn.Module):
    """A learned weighting of the real steps (softmax of a linear score), summed."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.score = nn.Linear(features, 1)

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.score(h).squeeze(-1).masked_fill(~mask, -torch.inf)
        return (torch.softmax(scores, dim=1)[..., None] * h).sum(dim=1)


MIN_RESOLUTION = 32  # the lowest image resolution searched below the working side
IMAGE_FITS = ("pad", "crop")  # pad first: the defaults see the whole photo


def resolutions(task: TaskInfo) -> list[int]:
    """The image resolutions (short side, px) a network may search: the working side and
    its halves, quarters and eighths down to MIN_RESOLUTION, lowest first (so the defaults,
    tried first, are the cheap ones). Empty when the images are too small to shrink."""
    if task.modality != "image" or len(task.input_shape) != 3:
        return []
    _, height, width = task.input_shape
    side = min(height, width)
    lower = [
        side // f
        for f in (8, 4, 2)
        if height % f == 0 and width % f == 0 and side // f >= MIN_RESOLUTION
    ]
    return [*lower, side] if lower else []


def image_fits(task: TaskInfo) -> list[str]:
    """How a network may take photos that were padded whole: as they are, or the centred
    square of their content (a centre crop). Empty unless the photos are not square
    (`TaskInfo.image_content`)."""
    if task.image_content is None or len(task.input_shape) != 3:
        return []
    return list(IMAGE_FITS)


def default_view(task: TaskInfo) -> dict[str, Any]:
    """The defaults' view of images: the lowest searched resolution, the whole photo."""
    return _view(task, lambda _name, choices: choices[0])


def suggest_view(hp: Any, task: TaskInfo) -> dict[str, Any]:
    """The searched view of images, where they allow one: the resolution (see
    `resolutions`) and crop or pad (see `image_fits`), as the parameters `downsampled`
    reads."""
    return _view(task, hp.categorical)


def _view(task: TaskInfo, pick: Any) -> dict[str, Any]:
    """{parameter: pick(parameter, choices)} for each view parameter the images offer."""
    offered = {"resolution": resolutions(task), "image_fit": image_fits(task)}
    return {name: pick(name, choices) for name, choices in offered.items() if choices}


class CentreCrop(nn.Module):
    """The centred `box` x `box` square of padded photos, brought to `side` x `side`:
    average pooling by the nearest whole factor, then a bilinear resize of what is left
    (less than 1.5x), both exported by ONNX."""

    def __init__(self, box: int, side: int, height: int, width: int) -> None:
        super().__init__()
        self.top, self.left, self.box = (height - box) // 2, (width - box) // 2, box
        self.factor = max(1, round(box / side))
        self.side = side
        self.resize = box // self.factor != side

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[..., self.top : self.top + self.box, self.left : self.left + self.box]
        if self.factor > 1:
            x = nn.functional.avg_pool2d(x, self.factor)
        if self.resize:
            x = nn.functional.interpolate(x, size=(self.side, self.side), mode="bilinear")
        return x


def downsampled(hp: dict[str, Any], task: TaskInfo) -> tuple[nn.Module | None, tuple[int, ...]]:
    """(the module that brings images to the searched view, or None; the input shape after
    it). The whole image: average pooling by a whole factor, exact, cheap and exported by
    ONNX. A centre crop: `CentreCrop`, at the resolution or the crop's own side if smaller."""
    shape = tuple(task.input_shape)
    if len(shape) != 3:
        return None, shape
    channels, height, width = shape
    resolution = hp.get("resolution")
    if hp.get("image_fit") == "crop" and task.image_content is not None:
        box = min(task.image_content)
        side = min(int(resolution or box), box)
        return CentreCrop(box, side, height, width), (channels, side, side)
    if resolution is None or resolution >= min(height, width):
        return None, shape
    factor = min(height, width) // int(resolution)
    return nn.AvgPool2d(factor), (channels, height // factor, width // factor)
