"""Exported graphs against the PyTorch network they came from, in one process.

    python bench/run.py export_latency

For two networks trained here (a CNN on digits, 8x8 images; a bidirectional GRU on short
documents), each format's export time and the time to predict a batch of 1 and of 256 rows
(median of repeated calls, inputs already preprocessed, each runtime with its default threads
on this 2-core machine), through PyTorch (eager, no_grad), onnxruntime and the reloaded torch.export program.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from automl.bundle import load  # noqa: E402
from automl.export import example_inputs, export_model  # noqa: E402
from automl.runtime import load_graph  # noqa: E402
from tests.support.bundles import digits, text, trained_bundle  # noqa: E402

CASES = {"digits cnn": ("cnn", {}, lambda: digits(True)), "text gru": ("rnn", {}, text)}


def _median_ms(run, x, seconds: float = 2.0) -> float:
    run(x)  # warm-up
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        started = time.perf_counter()
        run(x)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def bench_export_latency(runs_dir: Path) -> list[dict]:
    rows = []
    for name, (family, changes, data) in CASES.items():
        with tempfile.TemporaryDirectory(dir=runs_dir) as scratch:
            bundle, _ = trained_bundle(Path(scratch) / "best", family, changes, data)
            predictor = load(bundle)
            network = predictor.model

            def eager(x, network=network):
                with torch.no_grad():
                    return network(x)

            runners = {"torch": eager}
            export_s = {}
            for format in ("onnx", "pt2"):
                started = time.perf_counter()
                written = export_model(bundle, Path(scratch) / format, format)
                export_s[format] = time.perf_counter() - started
                runners[format] = load_graph(written, format)
            for batch in (1, 256):
                x = example_inputs(predictor.task, batch, seed=batch)
                timed = {system: _median_ms(run, x) for system, run in runners.items()}
                for system, ms in timed.items():
                    rows.append(
                        {
                            "dataset": name,
                            "budget": f"batch {batch}",
                            "system": f"automl export {system}",
                            "metric": "predict latency (inputs preprocessed)",
                            "latency_ms": ms,
                            "baseline_ms": timed["torch"],
                            **({"export_s": export_s[system]} if system in export_s else {}),
                            "torch": torch.__version__,
                        }
                    )
                    print(f"{name} batch {batch} {system}: {ms:.3f} ms", flush=True)
    return rows


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    for row in bench_export_latency(ROOT / "bench" / "runs"):
        print(row)
