"""How a predictor runs its network: the PyTorch modules, or an exported graph (ONNX through
onnxruntime, a torch.export program). Either gives the network's outputs and, for a model of
unlabelled data, its codes, for inputs already preprocessed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from automl.ensemble import Ensemble
from automl.errors import DataError
from automl.task_info import TaskInfo
from automl.trainer import EVAL_BATCH_SIZE, predict_outputs

GRAPH_FILES = {"onnx": "model.onnx", "pt2": "model.pt2"}
RUNTIMES = ("torch", *GRAPH_FILES)
INPUT_NAME = "x"
GraphRunner = Callable[[torch.Tensor], tuple[np.ndarray, ...]]


def output_names(task: TaskInfo) -> list[str]:
    """The exported graph's outputs: the network's, plus the codes of unlabelled models."""
    return ["reconstruction", "codes"] if task.target_kind == "none" else ["output"]


class TorchNetwork:
    """The bundle's PyTorch ensemble."""

    def __init__(self, model: Ensemble) -> None:
        self.model = model

    def outputs(self, inputs: torch.Tensor) -> np.ndarray:
        return predict_outputs(self.model, inputs).numpy()

    @torch.no_grad()
    def codes(self, inputs: torch.Tensor) -> np.ndarray:
        return self.model.eval().encode(inputs).numpy()

    def node_probabilities(self, inputs: torch.Tensor | np.ndarray) -> np.ndarray:
        """Every tree node's class probabilities (an RNTN's), (n, 2L-1, classes)."""
        forward = self.model.node_probabilities
        return predict_outputs(self.model, torch.as_tensor(inputs), forward).numpy()

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> np.ndarray:
        return self.model.eval().decode(codes).numpy()


class GraphNetwork:
    """An exported graph: output 0 is the network's, output 1 an unlabelled model's codes."""

    def __init__(self, run: GraphRunner, decoder: GraphRunner | None = None) -> None:
        self.run = run
        self.decoder = decoder  # an unlabelled model's decoder graph, when it exported

    def outputs(self, inputs: torch.Tensor) -> np.ndarray:
        return _in_batches(self.run, inputs, 0)

    def codes(self, inputs: torch.Tensor) -> np.ndarray:
        return _in_batches(self.run, inputs, 1)

    def node_probabilities(self, inputs: torch.Tensor | np.ndarray) -> np.ndarray:
        raise DataError(
            "--nodes runs the bundle's PyTorch RNTN, which no graph file holds; drop --runtime "
            "and pass the bundle directory."
        )

    def decode(self, codes: torch.Tensor) -> np.ndarray:
        if self.decoder is None:
            raise DataError(
                "This exported graph has no decoder beside it (its family's decoder did not "
                "export); load the bundle directory (runtime torch) to turn codes back into data."
            )
        return _in_batches(self.decoder, codes, 0)


def _in_batches(run: GraphRunner, inputs: torch.Tensor, which: int) -> np.ndarray:
    """Output `which` of a graph run over the inputs EVAL_BATCH_SIZE rows at a time."""
    chunks = [
        run(inputs[i : i + EVAL_BATCH_SIZE])[which] for i in range(0, len(inputs), EVAL_BATCH_SIZE)
    ]
    return np.concatenate(chunks) if chunks else np.empty(0, np.float32)


def load_graph(path: Path, runtime: str) -> GraphRunner:
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
