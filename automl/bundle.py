"""Bundles on disk: writing one, and loading one as a Predictor on the runtime asked for.

A bundle is a directory: `model.safetensors` (weights; loading it executes no code) and
`bundle.json` (each member's family and parameters, TaskInfo, preprocessing, label names,
versions). The networks are rebuilt from the registry, so nothing is unpickled. `automl
export` may add the network as `model.onnx` or `model.pt2` (see automl.export); a Predictor
runs either in place of the PyTorch network (automl.runtime).
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from automl.ensemble import Ensemble
from automl.errors import DataError
from automl.predictor import Predictor
from automl.preprocessing import Preprocessing
from automl.runtime import GRAPH_FILES, RUNTIMES, load_graph
from automl.search_spaces import get_family
from automl.study import BEST_DIR, BUNDLE_FILE
from automl.task_info import TaskInfo

BUNDLE_FORMAT = 2  # 2: members carry a weight and their number of (fold) networks
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = BUNDLE_FILE


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


def bundle_directory(path: Path) -> Path:
    """The bundle a path names: itself, or a study's best/."""
    path = Path(path).expanduser()
    if not (path / CONFIG_FILE).is_file() and (path / BEST_DIR / CONFIG_FILE).is_file():
        path = path / BEST_DIR
    if not (path / CONFIG_FILE).is_file():
        raise DataError(
            f"'{path}' is not a model bundle (no {CONFIG_FILE}); pass studies/<name>/best, "
            "a directory written by export, or an exported .onnx/.pt2 file."
        )
    return path


def graph_config_file(graph: Path) -> Path:
    """The JSON of an exported graph: beside it with the same name (model.onnx ->
    model.json), or the bundle.json of the bundle directory it sits in."""
    beside = graph.with_suffix(".json")
    inside = graph.parent / CONFIG_FILE
    return inside if not beside.is_file() and inside.is_file() else beside


def load(path: str | Path, runtime: str | None = None) -> Predictor:
    """Rebuild a predictor from a bundle directory (or a study directory, using its best/),
    or from an exported .onnx/.pt2 file with its .json beside it.

    `runtime` runs the PyTorch network ("torch", the default for a directory) or the graph
    the bundle was exported to ("onnx" through onnxruntime, "pt2" through torch.export).
    """
    path = Path(path).expanduser()
    graph = None
    if path.suffix[1:] in GRAPH_FILES and path.is_file():
        graph, config_file = path, graph_config_file(path)
        runtime = runtime or path.suffix[1:]
        if not config_file.is_file():
            raise DataError(
                f"'{path}' has no {config_file.name} beside it (the preprocessing and labels "
                "automl export writes with it); export it again."
            )
    else:
        config_file = bundle_directory(path) / CONFIG_FILE
    if runtime not in (None, *RUNTIMES):
        raise DataError(f"Unknown runtime '{runtime}'; choose one of {', '.join(RUNTIMES)}.")
    try:
        config = json.loads(config_file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"The bundle config {config_file} is not valid JSON: {exc}") from exc
    if config.get("bundle_format", 0) > BUNDLE_FORMAT:
        raise DataError(
            f"The bundle was written by a newer automl (format {config['bundle_format']}); "
            "upgrade automl to load it."
        )
    try:
        task = TaskInfo.from_dict(config["task"])
        preprocessing = Preprocessing.from_dict(config["preprocessing"])
        if runtime in (None, "torch"):
            model = _load_network(config, task, config_file.parent)
            return Predictor(model, config, task, preprocessing)
    except DataError:
        raise  # already says what is wrong (a DataError is a ValueError too)
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(
            f"The bundle config {config_file} is incomplete or damaged "
            f"({type(exc).__name__}: {exc}); re-export the model."
        ) from exc
    record = config.get("exports", {}).get(runtime)
    if record is None:
        raise DataError(
            f"{config_file} records no {runtime} export; write one with: automl export "
            f"{config_file.parent} --format {runtime} -o {config_file.parent}"
        )
    graph = graph or config_file.parent / record["file"]
    _check_digest(graph, record, config_file, runtime)
    decoder = None
    if "decoder" in record:  # an unlabelled model's decoder, for inverse_transform
        decoder_graph = graph.with_name(record["decoder"]["file"])
        _check_digest(decoder_graph, record["decoder"], config_file, runtime)
        decoder = load_graph(decoder_graph, runtime)
    runner = load_graph(graph, runtime)
    return Predictor(None, config, task, preprocessing, runner=runner, decoder=decoder)


def _check_digest(graph: Path, record: dict[str, Any], config_file: Path, runtime: str) -> None:
    if not graph.is_file() or file_digest(graph) != record.get("sha256"):
        raise DataError(
            f"Refusing to load {graph}: it is missing or differs from the file automl exported "
            f"(its sha256 is recorded in {config_file.name}; a {runtime} file may run code). "
            "Export the model again."
        )


def _load_network(config: dict[str, Any], task: TaskInfo, directory: Path) -> nn.Module:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    networks, weights = [], []
    for member in config["members"]:  # a cross-validated member is its fold networks
        count = int(member.get("networks", 1))
        networks += [
            get_family(member["family"]).build(member["params"], task) for _ in range(count)
        ]
        weights += [float(member.get("weight", 1.0)) / count] * count
    model = Ensemble(networks, task.is_classification, weights)
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
    return model.eval()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
