"""Export bundles and the Predictor that loads them.

A bundle is a directory: `model.safetensors` (weights; loading it executes no code) and
`bundle.json` (each member's family and parameters, TaskInfo, preprocessing, label names,
versions). The networks are rebuilt from the registry, so nothing is unpickled.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from automl.data import features_from_memory, list_image_files, read_images, read_table
from automl.ensemble import Ensemble
from automl.errors import DataError
from automl.families import get_family
from automl.preprocessing import Preprocessing
from automl.task import TaskInfo
from automl.trainer import predict_outputs

BUNDLE_FORMAT = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "bundle.json"


def library_versions() -> dict[str, str]:
    import optuna
    import sklearn

    import automl

    return {
        "automl": automl.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "optuna": optuna.__version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }


def save_bundle(
    directory: Path,
    model: nn.Module,
    members: list[dict[str, Any]],
    task: TaskInfo,
    preprocessing: Preprocessing,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write an `Ensemble`'s weights and its members' families and parameters."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / WEIGHTS_FILE))
    config = {
        "bundle_format": BUNDLE_FORMAT,
        "family": members[0]["family"],  # the best member, for a quick look
        "members": members,
        "task": task.to_dict(),
        "label_names": preprocessing.target.classes,  # None for regression
        "preprocessing": preprocessing.to_dict(),
        "versions": library_versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **(extra or {}),
    }
    (directory / CONFIG_FILE).write_text(json.dumps(config, indent=2, default=str))
    return directory


def load(directory: str | Path) -> Predictor:
    """Rebuild a predictor from a bundle directory (or a study directory, using its best/)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory).expanduser()
    if not (directory / CONFIG_FILE).is_file() and (directory / "best" / CONFIG_FILE).is_file():
        directory = directory / "best"
    if not (directory / CONFIG_FILE).is_file():
        raise DataError(
            f"'{directory}' is not a model bundle (no {CONFIG_FILE}); pass studies/<name>/best "
            "or a directory written by export."
        )
    try:
        config = json.loads((directory / CONFIG_FILE).read_text())
    except json.JSONDecodeError as exc:
        raise DataError(
            f"The bundle config {directory / CONFIG_FILE} is not valid JSON: {exc}"
        ) from exc
    if config.get("bundle_format", 0) > BUNDLE_FORMAT:
        raise DataError(
            f"The bundle was written by a newer automl (format {config['bundle_format']}); "
            "upgrade automl to load it."
        )
    try:
        task = TaskInfo.from_dict(config["task"])
        model = Ensemble(
            [get_family(m["family"]).build(m["params"], task) for m in config["members"]],
            task.is_classification,
        )
        preprocessing = Preprocessing.from_dict(config["preprocessing"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"The bundle config {directory / CONFIG_FILE} is incomplete or damaged "
            f"({type(exc).__name__}: {exc}); re-export the model."
        ) from exc
    try:
        state = load_file(str(directory / WEIGHTS_FILE))
    except (SafetensorError, OSError) as exc:
        raise DataError(
            f"Refusing to load the weights in {directory / WEIGHTS_FILE}: not a valid "
            f"safetensors file ({exc}). Re-export the model; bundles never load pickles."
        ) from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise DataError(
            f"The weights in {directory / WEIGHTS_FILE} do not fit the networks its "
            f"{CONFIG_FILE} describes ({str(exc).splitlines()[0]}); re-export the model."
        ) from exc
    model.eval()
    return Predictor(model, config, task, preprocessing)


class Predictor:
    """A trained network with its preprocessing: predict on raw arrays, DataFrames or files.

    >>> predictor = automl.load("studies/digits/best")     # doctest: +SKIP
    >>> predictor.predict(X_new)                            # doctest: +SKIP
    """

    def __init__(
        self, model: nn.Module, config: dict[str, Any], task: TaskInfo, preprocessing: Preprocessing
    ) -> None:
        self.model = model
        self.config = config
        self.task = task
        self.preprocessing = preprocessing

    @property
    def classes_(self) -> np.ndarray | None:
        classes = self.preprocessing.target.classes
        return None if classes is None else np.asarray(classes)

    def _outputs(self, X: Any) -> np.ndarray:
        features = self.preprocessing.transform(features_from_memory(X, self.task.modality))
        return predict_outputs(self.model, torch.from_numpy(features)).numpy()

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        if not self.task.is_classification:
            raise DataError("predict_proba is only for classifiers; this model is a regressor.")
        return torch.softmax(torch.from_numpy(outputs), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.preprocessing.target.decode(self._outputs(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._probabilities(self._outputs(X))

    def predict_path(self, path: str | Path, proba: bool = False) -> pd.DataFrame:
        """Predictions for a table file or a folder of images, one row per input."""
        path = Path(path).expanduser()
        if not path.exists():
            raise DataError(f"The path '{path}' does not exist.")
        ids, X = self._read(path)
        outputs = self._outputs(X)  # once, for both the labels and the probabilities
        frame = pd.DataFrame({"id": ids, "prediction": self.preprocessing.target.decode(outputs)})
        if proba:
            probabilities = self._probabilities(outputs)
            for i, label in enumerate(self.classes_):
                frame[f"proba_{label}"] = probabilities[:, i]
        return frame

    def _read(self, path: Path) -> tuple[list[Any], Any]:
        if self.task.modality == "image":
            if not path.is_dir():
                raise DataError(f"This model takes a folder of images; '{path}' is a file.")
            files = list_image_files(path)
            if not files:
                raise DataError(f"No image files found in '{path}'.")
            image = self.preprocessing.image
            X, kept, notes = read_images(
                files, size=(image.height, image.width), mode="L" if image.channels == 1 else "RGB"
            )
            for note in notes:
                print(f"note: {note}", file=sys.stderr)
            return [str(files[i].relative_to(path)) for i in kept], X
        if path.is_dir():
            raise DataError(f"This model takes a table file (CSV/Parquet); '{path}' is a folder.")
        frame = read_table(path)
        return list(range(len(frame))), frame
