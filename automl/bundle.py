"""Export bundles and the Predictor that loads them.

A bundle is a directory: `model.safetensors` (weights; loading it executes no code) and
`bundle.json` (each member's family and parameters, TaskInfo, preprocessing, label names,
versions). The networks are rebuilt from the registry, so nothing is unpickled. `automl
export` may add the network as `model.onnx` or `model.pt2` (see automl.export); a Predictor
runs either in place of the PyTorch network.
"""

from __future__ import annotations

import hashlib
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

from automl.data import features_from_memory, read_for_prediction
from automl.data.tables import numeric_values, order_dated
from automl.ensemble import Ensemble
from automl.errors import DataError
from automl.families import get_family
from automl.preprocessing import Preprocessing
from automl.task import TaskInfo
from automl.trainer import EVAL_BATCH_SIZE, predict_outputs

BUNDLE_FORMAT = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "bundle.json"
GRAPH_FILES = {"onnx": "model.onnx", "pt2": "model.pt2"}
RUNTIMES = ("torch", *GRAPH_FILES)
INPUT_NAME = "x"


def output_names(task: TaskInfo) -> list[str]:
    """The exported graph's outputs: the network's, plus the codes of unlabelled models."""
    return ["reconstruction", "codes"] if task.target_kind == "none" else ["output"]


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
    if not (path / CONFIG_FILE).is_file() and (path / "best" / CONFIG_FILE).is_file():
        path = path / "best"
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
    if not graph.is_file() or file_digest(graph) != record.get("sha256"):
        raise DataError(
            f"Refusing to load {graph}: it is missing or differs from the file automl exported "
            f"(its sha256 is recorded in {config_file.name}; a {runtime} file may run code). "
            "Export the model again."
        )
    return Predictor(None, config, task, preprocessing, runner=load_graph(graph, runtime))


def _load_network(config: dict[str, Any], task: TaskInfo, directory: Path) -> nn.Module:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    model = Ensemble(
        [get_family(m["family"]).build(m["params"], task) for m in config["members"]],
        task.is_classification,
    )
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


def load_graph(path: Path, runtime: str):
    """A callable: inputs (n, ...) -> the saved graph's outputs as numpy arrays."""
    if runtime == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # errors only
        session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

        def run_onnx(x: torch.Tensor) -> tuple[np.ndarray, ...]:
            return tuple(session.run(None, {INPUT_NAME: x.numpy()}))

        return run_onnx
    module = torch.export.load(path).module()

    def run_program(x: torch.Tensor) -> tuple[np.ndarray, ...]:
        with torch.no_grad():
            out = module(x)
        return tuple(o.numpy() for o in (out if isinstance(out, tuple) else (out,)))

    return run_program


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Predictor:
    """A trained network with its preprocessing: predict on raw arrays, DataFrames or files.

    >>> predictor = automl.load("studies/digits/best")     # doctest: +SKIP
    >>> predictor.predict(X_new)                            # doctest: +SKIP

    Classifiers and regressors predict labels or values; a forecaster predicts the next
    `horizon` values after each series it is given; a model of unlabelled data predicts
    anomaly scores (reconstruction error per sample) and `transform` gives its codes. The
    network is the PyTorch `model`, or an exported graph's `runner` (then `model` is None).
    """

    def __init__(
        self,
        model: nn.Module | None,
        config: dict[str, Any],
        task: TaskInfo,
        preprocessing: Preprocessing,
        runner=None,
    ) -> None:
        self.model = model
        self.config = config
        self.task = task
        self.preprocessing = preprocessing
        self.runner = runner

    def _run(self, inputs: torch.Tensor, which: int) -> np.ndarray:
        """The exported graph's output number `which`, over batches."""
        chunks = [
            self.runner(inputs[i : i + EVAL_BATCH_SIZE])[which]
            for i in range(0, len(inputs), EVAL_BATCH_SIZE)
        ]
        return np.concatenate(chunks) if chunks else np.empty(0, np.float32)

    def network_outputs(self, inputs: torch.Tensor) -> np.ndarray:
        """The network's outputs for inputs already preprocessed (logits, standardised
        values, or reconstructions)."""
        if self.model is None:
            return self._run(inputs, 0)
        return predict_outputs(self.model, inputs).numpy()

    @property
    def classes_(self) -> np.ndarray | None:
        classes = self.preprocessing.target.classes
        return None if classes is None else np.asarray(classes)

    def _inputs(self, X: Any) -> torch.Tensor:
        if self.task.target_kind == "forecasting":
            X = self._series_to_forecast(X)
        else:
            X = features_from_memory(X, self.task.modality)
        return torch.from_numpy(self.preprocessing.transform(X))

    def _series_to_forecast(self, X: Any) -> list[np.ndarray]:
        """One series (1-D, (T, F), a DataFrame with the training columns) or a list of them."""
        if isinstance(X, pd.DataFrame):  # a table like the training one: ordered by its time
            source = self.config.get("source", {})
            if source.get("time") in X.columns:
                return [order_dated(X, source["time"], source["columns"])[1]]
            return [numeric_values(X)]
        if isinstance(X, list):
            return [np.asarray(s, dtype=np.float32).reshape(len(s), -1) for s in X]
        values = np.asarray(X, dtype=np.float32)
        return [values.reshape(len(values), -1)]

    def _outputs(self, X: Any) -> np.ndarray:
        return self.network_outputs(self._inputs(X))

    def _probabilities(self, outputs: np.ndarray) -> np.ndarray:
        if not self.task.is_classification:
            raise DataError("predict_proba is only for classifiers; this model is not one.")
        return torch.softmax(torch.from_numpy(outputs), dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        if self.task.target_kind == "none":
            return self.score_samples(X)
        predictions = self.preprocessing.target.decode(self._outputs(X))
        if self.task.target_kind == "forecasting" and not isinstance(X, list):
            return predictions[0]  # one series in, its next `horizon` values out
        return predictions

    def predict_proba(self, X: Any) -> np.ndarray:
        return self._probabilities(self._outputs(X))

    def score_samples(self, X: Any) -> np.ndarray:
        """Anomaly scores of a model of unlabelled data: mean squared reconstruction error per
        sample, on the standardised inputs (higher is more unusual)."""
        self._need_unlabelled("score_samples")
        return self.reconstruction_errors(self._inputs(X))

    def transform(self, X: Any) -> np.ndarray:
        """The codes a model of unlabelled data gives each sample."""
        self._need_unlabelled("transform")
        return self.codes(self._inputs(X))

    def reconstruction_errors(self, inputs: torch.Tensor) -> np.ndarray:
        """Anomaly scores of inputs already preprocessed (`score_samples` preprocesses)."""
        outputs = torch.from_numpy(self.network_outputs(inputs)).reshape(inputs.shape)
        return ((outputs - inputs) ** 2).reshape(len(inputs), -1).mean(dim=1).numpy()

    @torch.no_grad()
    def codes(self, inputs: torch.Tensor) -> np.ndarray:
        """Codes of inputs already preprocessed (`transform` preprocesses)."""
        if self.model is None:
            return self._run(inputs, 1)
        return self.model.members[0].eval().encode(inputs).numpy()

    def _need_unlabelled(self, what: str) -> None:
        if self.task.target_kind != "none":
            raise DataError(f"{what} is for models of unlabelled data; this one predicts labels.")

    def predict_path(
        self, path: str | Path, proba: bool = False, scores: bool = False, codes: bool = False
    ) -> pd.DataFrame:
        """Predictions for new files, read the way the training data was; one row per input
        (per future step for a forecaster). A model of unlabelled data gives anomaly scores
        (`scores`, its default) and, with `codes`, one column per code unit."""
        if self.task.target_kind == "none" and proba:
            raise DataError(
                "--proba is for classifiers; this model of unlabelled data gives anomaly scores "
                "(--scores) and codes (--codes)."
            )
        if self.task.target_kind != "none" and (scores or codes):
            raise DataError(
                "--scores and --codes are for models of unlabelled data; this model predicts "
                "labels or values (use --proba for class probabilities)."
            )
        image = self.preprocessing.image
        ids, X, notes = read_for_prediction(
            Path(path),
            self.config.get("source", {}),
            self.task.modality,
            image=None
            if image is None
            else {
                "size": (image.height, image.width),
                "mode": "L" if image.channels == 1 else "RGB",
            },
            sample_rate=None
            if self.preprocessing.audio is None
            else self.preprocessing.audio.frames["sample_rate"],
        )
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        if self.task.target_kind == "forecasting":
            return self._forecast_frame(ids, X)
        if self.task.target_kind == "none":
            inputs = self._inputs(X)  # once, for both the scores and the codes
            frame = pd.DataFrame({"id": ids, "anomaly_score": self.reconstruction_errors(inputs)})
            if codes:
                values = self.codes(inputs)
                for i in range(values.shape[1]):
                    frame[f"code_{i}"] = values[:, i]
            return frame
        outputs = self._outputs(X)  # once, for both the labels and the probabilities
        frame = pd.DataFrame({"id": ids, "prediction": self.preprocessing.target.decode(outputs)})
        if proba:
            probabilities = self._probabilities(outputs)
            for i, label in enumerate(self.classes_):
                frame[f"proba_{label}"] = probabilities[:, i]
        return frame

    def _forecast_frame(self, times: list[str], series: list[np.ndarray]) -> pd.DataFrame:
        values = self.predict(series)[0]
        steps = np.arange(1, len(values) + 1)
        frame = pd.DataFrame({"step": steps, "prediction": values})
        numbers = pd.to_numeric(pd.Series(times[-2:]), errors="coerce")
        if len(times) >= 2 and numbers.notna().all():  # yearly or step-numbered: continue it
            last, stride = numbers.iloc[-1], numbers.iloc[-1] - numbers.iloc[-2]
            frame.insert(0, "time", last + stride * steps)
        return frame
