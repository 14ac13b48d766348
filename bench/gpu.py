"""GPU sharing: the same search with 1, 2 and 4 trials per GPU (--gpus-per-trial 1, 0.5,
0.25), reporting the GPU's mean utilisation (nvidia-smi, sampled every 0.5 s) and trials per
hour. Registered in bench/run.py; needs a CUDA machine:

    python bench/run.py gpu_sharing --budget 2m

Data: the first 10 000 Fashion-MNIST training images as a PNG folder (bench/datasets.py).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

SHARES = (1.0, 0.5, 0.25)
SAMPLE_EVERY_S = 0.5


class UtilisationSampler:
    """Samples `nvidia-smi` in a thread: GPU utilisation (%) and memory used (MiB)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        query = ["nvidia-smi", "--query-gpu=utilization.gpu,memory.used"]
        while not self._stop.wait(SAMPLE_EVERY_S):
            out = subprocess.run(
                [*query, "--format=csv,noheader,nounits"], capture_output=True, text=True
            ).stdout
            first_gpu = out.strip().splitlines()[0]
            utilisation, memory = (float(v) for v in first_gpu.split(","))
            self.samples.append((utilisation, memory))

    def __enter__(self) -> UtilisationSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def bench_gpu_sharing(run_automl_cli, runs_dir: Path, budget: str) -> list[dict]:
    from datasets import fashion_mnist  # bench/datasets.py, beside this script

    root = runs_dir / "fashion_mnist"
    if not (root / "train").is_dir():
        root = fashion_mnist(runs_dir, limit=10_000)
    rows = []
    for share in SHARES:
        with UtilisationSampler() as sampler:
            ours = run_automl_cli(root / "train", budget, ["--gpus-per-trial", str(share)])
        ours.pop("study_dir")
        utilisation = [u for u, _ in sampler.samples]
        rows.append(
            {
                "dataset": "Fashion-MNIST, first 10 000 (PNG folder), one GPU",
                "metric": "-",
                "budget": budget,
                "system": f"automl, {round(1 / share)} trial(s) per GPU",
                "gpu_utilisation_mean": sum(utilisation) / max(1, len(utilisation)),
                "gpu_memory_max_mib": max((m for _, m in sampler.samples), default=0.0),
                "trials_per_hour": 3600 * ours["trials"] / max(1e-9, ours["search_s"]),
                **ours,
            }
        )
    return rows
