"""Data augmentation for small data: a searched training choice (`<family>.train_augment`).

A few dozen series or images are easy to memorise; drawing a slightly different version of
each example every time it is seen is the classic prior against that. Only changes that keep
the label are offered: for series, noise and a change of amplitude (window warping and
slicing would move the events that tell GunPoint's classes apart); for images, shifts of a
few pixels, and horizontal flips only as their own choice, since a flipped digit or letter is
another symbol.
"""

from __future__ import annotations

import torch

JITTER = 0.03  # noise, as a share of each series' own spread
SCALING = 0.1  # spread of the amplitude factor around 1
SHIFT = 2  # pixels an image moves at most, each way


def augmentations(modality: str) -> tuple[str, ...]:
    """The choices offered for data of `modality`; ("none",) where nothing is known to keep
    labels (tables, text, audio frames)."""
    if modality == "series":
        return ("none", "jitter")
    if modality == "image":
        return ("none", "shift", "shift_flip")
    return ("none",)


def augment(x: torch.Tensor, how: str, generator: torch.Generator) -> torch.Tensor:
    """A random version of a batch: series (n, T, F), NaN padding kept; images (n, C, H, W).
    Inputs of another shape (a family that reads images flattened) are left as they are."""
    if how == "jitter" and x.dim() == 3 and x.is_floating_point():
        return _jitter(x, generator)
    if how in ("shift", "shift_flip") and x.dim() == 4:
        return _shift(x, generator, flip=how == "shift_flip")
    return x


def _random(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


def _jitter(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    mean = torch.nanmean(x, dim=1, keepdim=True)
    spread = torch.nanmean((x - mean) ** 2, dim=1, keepdim=True).sqrt().nan_to_num(0.0)
    scale = 1.0 + SCALING * _random((x.shape[0], 1, x.shape[2]), generator, x)
    return mean + (x - mean) * scale + JITTER * spread * _random(tuple(x.shape), generator, x)


def _shift(x: torch.Tensor, generator: torch.Generator, flip: bool) -> torch.Tensor:
    n, _, height, width = x.shape
    padded = torch.nn.functional.pad(x, (SHIFT, SHIFT, SHIFT, SHIFT), mode="replicate")
    offsets = torch.randint(0, 2 * SHIFT + 1, (n, 2), generator=generator).tolist()
    out = torch.stack(
        [padded[i, :, dy : dy + height, dx : dx + width] for i, (dy, dx) in enumerate(offsets)]
    )
    if flip:
        mirrored = torch.rand(n, generator=generator) < 0.5
        out[mirrored] = out[mirrored].flip(-1)
    return out
