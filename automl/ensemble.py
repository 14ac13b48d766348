"""The exported model: the top few architectures of the search, averaged.

On small validation sets the single best trial is a noisy pick (digits: several trials tie at
100 % validation accuracy and differ by 1.5 points on the test split); averaging the top three
removes most of that noise. Members are ordinary family networks, so export stays one module.
"""

from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    """Averages member probabilities (classification) or outputs (regression).

    For classification the output is log(mean softmax): argmax and softmax of it are the
    ensemble's class and probabilities, so callers treat it like any logits.
    """

    def __init__(self, members: list[nn.Module], classification: bool) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        self.classification = classification

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = torch.stack([member(x) for member in self.members])
        if self.classification:
            return torch.log(torch.softmax(outputs, dim=-1).mean(dim=0).clamp_min(1e-12))
        return outputs.mean(dim=0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The codes of a model of unlabelled data, which keeps one network (an average of
        codes from different encoders would mean nothing)."""
        return self.members[0].encode(x)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes back to a reconstruction, by the same one network."""
        return self.members[0].decode(codes)
