"""What every modality's preprocessor shares: a JSON-ready dataclass, no notes, no hints for
reading new files, no vocabulary. Each modality overrides what it has."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from automl.errors import DataError


class ModalityPreprocessor:
    """Base of the dataclasses in this package; `KEY` names the kind in the bundle JSON."""

    KEY = ""
    vocab_size: int | None = None  # token ids run from 0 to vocab_size - 1 (labelled text only)
    tree_leaves: int | None = None  # parse trees: the leaves a row holds (its first columns)

    def notes(self, X: Any) -> list[str]:
        """What the user should know about preprocessing X (truncated documents, ...)."""
        return []

    def inverse_transform(self, inputs: np.ndarray) -> Any:
        """Network inputs (or reconstructions of them) back to data; not every kind can be."""
        raise DataError(
            f"{self.KEY} inputs cannot be turned back into data ({self.KEY} models of unlabelled "
            "data reconstruct their preprocessed form); inverse_transform is for images, tables "
            "and series. score_samples gives the reconstruction error."
        )

    def reading_hints(self) -> dict[str, Any]:
        """How new files are read for prediction (an image size, a sample rate)."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModalityPreprocessor:
        return cls(**data)
