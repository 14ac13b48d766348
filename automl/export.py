"""Export a trained model as a bundle, an ONNX graph or a torch.export program.

Every format carries the bundle's JSON (preprocessing, label names, versions). ONNX and pt2
add the network as a graph with a dynamic batch axis (and a dynamic sequence axis for
networks over token or step sequences). Each graph is reloaded and run on sample inputs
before it is kept: a graph that differs from the PyTorch network by more than `TOLERANCE`
is not written.

    automl export studies/pets --format onnx -o pets.onnx      # pets.onnx + pets.json
    automl export studies/pets --format pt2 -o deploy/         # a bundle with model.pt2
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from automl.bundle import CONFIG_FILE, bundle_directory, file_digest, load
from automl.errors import AutoMLError, ConfigError
from automl.predictor import Predictor
from automl.runtime import GRAPH_FILES, INPUT_NAME, load_graph, output_names
from automl.task_info import TaskInfo

FORMATS = ("bundle", "onnx", "pt2")
# max difference from the PyTorch network on the sample inputs, absolute up to 1 and relative
# past it: float32 rounds a forecast extrapolated to 1e4 by ~1e-3 (a log-scale trend's)
TOLERANCE = 1e-4
ONNX_OPSET = 18
MIN_STEPS = 2  # a length-1 axis would be specialised by torch.export


class ExportError(AutoMLError):
    """A graph could not be produced or does not reproduce the network."""


class DeployedNetwork(nn.Module):
    """What the graph computes: the network's outputs, and for a model of unlabelled data
    its reconstruction and codes (anomaly scores are one line from them)."""

    def __init__(self, model: nn.Module, unlabelled: bool) -> None:
        super().__init__()
        self.model = model
        self.unlabelled = unlabelled

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        if self.unlabelled:
            return self.model(x).reshape(x.shape), self.model.encode(x)
        return self.model(x)


class DecoderNetwork(nn.Module):
    """A model of unlabelled data's decoder alone: codes -> reconstruction, for
    inverse_transform on an exported graph (a second graph file beside the first)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.model.decode(codes)


def decoder_file(graph: Path) -> Path:
    """model.onnx -> model.decoder.onnx, beside it."""
    return graph.with_name(f"{graph.stem}.decoder{graph.suffix}")


def export_model(source: str | Path, output: str | Path, format: str = "bundle") -> Path:
    """Write the model of a study (or a bundle) to `output` in `format`; returns what was
    written. A path ending in .onnx or .pt2 gets the graph alone, with its JSON beside it
    (same name, .json); any other path becomes a bundle directory (with the graph inside)."""
    if format not in FORMATS:
        raise ConfigError(f"Unknown export format '{format}'; choose one of {', '.join(FORMATS)}.")
    source_dir = bundle_directory(Path(source))
    output = Path(output).expanduser()
    graph_file = output if output.suffix[1:] in GRAPH_FILES else None
    if graph_file is not None and graph_file.suffix != f".{format}":
        raise ConfigError(
            f"-o {output} ends in {output.suffix} but the format is {format}; name the file "
            f"*.{format} or pass --format {output.suffix[1:]}."
        )
    if graph_file is None and output.exists() and not output.is_dir():
        raise ConfigError(f"-o {output} is a file; this export writes a directory there.")
    if format == "bundle":
        if output.resolve() != source_dir.resolve():
            shutil.copytree(source_dir, output, dirs_exist_ok=True)
        return output
    predictor = load(source_dir)
    target = graph_file or output / GRAPH_FILES[format]
    with tempfile.TemporaryDirectory() as staging:  # nothing lands before the check passes
        staged = Path(staging) / target.name
        record = write_graph(predictor, staged, format)
        if graph_file is None and output.resolve() != source_dir.resolve():
            shutil.copytree(source_dir, output, dirs_exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staged, target)
        if "decoder" in record:
            shutil.move(decoder_file(staged), decoder_file(target))
    config = dict(predictor.config)
    config["exports"] = {**config.get("exports", {}), format: record}
    config["model_io"] = model_io(predictor)
    config_file = graph_file.with_suffix(".json") if graph_file else output / CONFIG_FILE
    config_file.write_text(json.dumps(config, indent=2, default=str))
    return target


def write_graph(predictor: Predictor, target: Path, format: str) -> dict[str, Any]:
    """Export the predictor's network to `target`, reload it and check it; the record for
    the bundle JSON. Raises ExportError (leaving `target` to the caller) on any failure."""
    task = predictor.task
    for module in predictor.model.modules():
        reason = getattr(module, "graph_unsupported", None)
        if reason:
            raise ExportError(
                f"The model's {type(module).__name__} cannot be exported to {format}: {reason}. "
                "The bundle format carries it: --format bundle."
            )
    network = DeployedNetwork(predictor.model, task.target_kind == "none").eval()
    steps = sequence_axis(task)
    example = example_inputs(task, 4)
    batch = torch.export.Dim("batch")
    axes = {0: batch} if steps is None else {0: batch, 1: torch.export.Dim("steps", min=MIN_STEPS)}
    with quiet_exporter():
        try:
            _export(network, example, axes, target, format, output_names(task))
        except Exception as exc:  # the exporter raises many types; none is the user's fault
            raise ExportError(
                f"Exporting the {predictor.config.get('family', '?')} network to {format} "
                f"failed ({type(exc).__name__}: {_first_line(exc)}); the bundle format always "
                "works: --format bundle."
            ) from exc

        def examples(n: int, length: int | None) -> torch.Tensor:
            return example_inputs(task, n, length, seed=n)

        checked = check_graph(network, load_graph(target, format), examples, steps)
        decoder = _write_decoder(predictor, target, format) if network.unlabelled else None
    return {
        "file": target.name,
        "sha256": file_digest(target),  # automl.load refuses a graph file that differs
        "dynamic_axes": {"0": "batch", **({} if steps is None else {"1": "steps"})},
        **({"opset": ONNX_OPSET} if format == "onnx" else {}),
        "checked": checked,
        **({"decoder": decoder} if decoder else {}),
    }


def _write_decoder(predictor: Predictor, target: Path, format: str) -> dict[str, Any] | None:
    """The decoder as its own graph (codes in, reconstruction out), checked like the main
    one; None when the family's decoder does not export (inverse_transform then needs the
    bundle's PyTorch network, and says so)."""
    model = predictor.model.eval()
    decoder = DecoderNetwork(model).eval()

    @torch.no_grad()
    def codes(n: int, _length: int | None) -> torch.Tensor:
        return model.encode(example_inputs(predictor.task, n, seed=n))

    path = decoder_file(target)
    axes = {0: torch.export.Dim("batch")}
    try:
        _export(decoder, codes(4, None), axes, path, format, ["reconstruction"])
        checked = check_graph(decoder, load_graph(path, format), codes, None)
    except Exception:  # noqa: BLE001 - the exporter raises many types; the main graph stands
        path.unlink(missing_ok=True)
        return None
    return {"file": path.name, "sha256": file_digest(path), "checked": checked}


def _export(
    network: nn.Module, example: torch.Tensor, axes, path: Path, format: str, outputs: list[str]
) -> None:
    """`network` on `example` to an ONNX graph (input x, `outputs`) or a torch.export program."""
    if format == "onnx":
        torch.onnx.export(
            network,
            (example,),
            dynamo=True,
            dynamic_shapes=(axes,),
            input_names=[INPUT_NAME],
            output_names=outputs,
            opset_version=ONNX_OPSET,
            verbose=False,
        ).save(str(path))
    else:
        torch.export.save(torch.export.export(network, (example,), dynamic_shapes=(axes,)), path)


def check_graph(
    network: nn.Module,
    runner,
    examples: Callable[[int, int | None], torch.Tensor],
    steps: int | None,
) -> dict[str, Any]:
    """Run the graph and the network on sample inputs (`examples(n, length)`) of several
    batch sizes (and sequence lengths); raise ExportError past TOLERANCE."""
    shapes = [(1, None), (3, None), (8, None)]
    if steps is not None:
        shapes += [(2, max(MIN_STEPS, steps // 2)), (3, steps * 2)]
    worst = scaled = 0.0
    for n, length in shapes:
        x = examples(n, length)
        with torch.no_grad():
            expected = network(x)
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = runner(x)
        for want, have in zip(expected, got, strict=True):
            if tuple(want.shape) != tuple(have.shape):
                raise ExportError(
                    f"The exported graph gives shape {tuple(have.shape)} where the network "
                    f"gives {tuple(want.shape)} (batch {n}, steps {length}); not written."
                )
            want = want.numpy()
            difference = np.abs(want - have)
            worst = max(worst, float(difference.max(initial=0.0)))
            scaled = max(
                scaled, float((difference / np.maximum(np.abs(want), 1.0)).max(initial=0.0))
            )
    if not scaled <= TOLERANCE:
        raise ExportError(
            f"The exported graph differs from the network by {scaled:.2e} on sample inputs "
            f"(tolerance {TOLERANCE:g}); not written. Use --format bundle."
        )
    checked = {
        "max_abs_diff": worst,
        "max_scaled_diff": scaled,  # what is compared: relative past 1
        "tolerance": TOLERANCE,
        "batch_sizes": sorted({n for n, _ in shapes}),
    }
    if steps is not None:
        checked["steps"] = sorted({length or steps for _, length in shapes})
    return checked


def sequence_axis(task: TaskInfo) -> int | None:
    """The trained sequence length where axis 1 may vary: token ids and padded step
    sequences. A forecaster's window, encoded parse trees and fixed-width inputs keep their
    shape."""
    if task.target_kind in ("forecasting", "none") or task.tree_leaves is not None:
        return None  # a tree's columns follow its words: the row's layout is fixed
    if task.vocab_size is not None or task.modality in ("series", "audio"):
        return int(task.input_shape[0])
    return None


def example_inputs(task: TaskInfo, n: int, steps: int | None = None, seed: int = 0) -> torch.Tensor:
    """Inputs as preprocessing makes them: token ids padded with 0 in some rows, series padded
    with all-NaN steps in some rows (a forecaster's windows at their start), other values
    within the training inputs' range."""
    generator = torch.Generator().manual_seed(seed)
    shape = tuple(task.input_shape)
    if steps is not None:
        shape = (steps, *shape[1:])
    half = shape[0] // 2 if shape else 0
    if task.vocab_size is not None:
        x = torch.randint(2, max(3, task.vocab_size), (n, *shape), generator=generator)
        x[: n // 2, max(1, half) :] = 0
        return x
    if task.input_range is not None:
        low, high = task.input_range
        x = low + (high - low) * torch.rand(n, *shape, generator=generator)
    else:
        x = torch.randn(n, *shape, generator=generator)
    if sequence_axis(task) is not None:
        x[: n // 2, max(1, half) :] = float("nan")
    elif task.forecast is not None:  # a forecaster's window starts before a short series did
        x[: n // 2, : half - 1] = float("nan")
    return x


def input_spec(task: TaskInfo, steps: int | None) -> dict[str, Any]:
    shape: list[Any] = ["batch", *task.input_shape]
    if steps is not None:
        shape[1] = "steps"
    dtype = "int64" if task.vocab_size is not None else "float32"
    return {"dtype": dtype, "shape": shape}


def model_io(predictor: Predictor) -> dict[str, Any]:
    """How a program in any language turns raw data into the graph's input and its outputs
    into predictions; every number it needs is under `preprocessing` in the same file."""
    task = predictor.task
    steps = sequence_axis(task)
    return {
        "input": {"name": INPUT_NAME, **input_spec(task, steps)},
        "preprocessing_steps": predictor.preprocessing.describe(),
        "outputs": output_names(task),
        "postprocessing": predictor.preprocessing.target.describe_outputs(task),
    }


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """The exporters print progress, warn about torchvision and deprecations; a user
    exporting a model needs none of it. Recurrent layers are traced as loops, so their
    sequence length stays a dynamic axis (torch's default decomposition unrolls them)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    # Traces of an earlier export are cached; one of an LSTM broke a later tanh RNN's ONNX
    # export ("Node.meta ... missing val field"), so every export starts afresh.
    torch._dynamo.reset()
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            recurrences_as_loops(),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def recurrences_as_loops() -> Iterator[None]:
    """torch's while_loop decompositions of GRU and LSTM (which torch.onnx uses only while
    capturing, so a bidirectional pattern still froze the length: pytorch#191855), plus the
    same for the plain tanh RNN, which torch lacks; active for the whole export."""
    try:
        from torch.export import _patches
    except ImportError:  # an older torch: recurrent nets then fail to export, in one line
        yield
        return
    with (
        _patches.register_lstm_while_loop_decomposition(),
        _patches.register_gru_while_loop_decomposition(),
        _patches._register_rnn_while_loop_decomposition(
            torch.ops.aten.rnn_tanh.input, _rnn_tanh_while_loop
        ),
    ):
        yield


def _rnn_tanh_while_loop(
    input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first
):
    from torch._decomp.decompositions import _rnn_helper, gather_params

    out, final = _rnn_helper(
        input,
        list(hx.unbind(0)),
        gather_params(params, has_biases, False),
        has_biases,
        num_layers,
        dropout,
        train,
        bidirectional,
        batch_first,
        _one_layer_tanh_loop,
    )
    return out, torch.stack(final, 0)


def _one_layer_tanh_loop(inp, hidden, params, has_biases, reverse=False):
    """One tanh RNN layer over (T, n, F) as a while_loop (torch's GRU loop, tanh cell)."""
    from torch._higher_order_ops.while_loop import while_loop
    from torch.export._patches import _clone_tensors_that_alias

    ih_weight, hh_weight = params[0], params[1]
    ih_bias = params[2] if has_biases else None
    hh_bias = params[3] if has_biases else None
    steps = nn.functional.linear(inp, ih_weight, ih_bias)
    steps = steps.flip(0) if reverse else steps
    hh_weight, hh_bias = _clone_tensors_that_alias((hh_weight, hh_bias))
    state = hidden.unsqueeze(0)
    outputs = torch.empty(steps.size(0), *state.shape[1:], dtype=state.dtype, device=state.device)

    def more(i, out, state):
        return i < steps.size(0)

    def step(index, out, state):
        i = index.item()
        torch._check(i >= 0)
        torch._check(i < steps.size(0))
        state = torch.tanh(nn.functional.linear(state, hh_weight, hh_bias) + steps[i])
        out = out.clone()
        out[i] = state.squeeze(0)
        return index + 1, out, state

    start = torch.zeros((), dtype=torch.int64, device=state.device)  # an op, not a constant
    _, outputs, state = while_loop(more, step, [start, outputs, state])
    return (outputs.flip(0) if reverse else outputs), state.squeeze(0)


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0][:300] if lines else type(exc).__name__
