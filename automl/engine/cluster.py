"""Where trials run: the Ray cluster (local by default), and what each trial asks of it."""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Any

import torch

from automl.engine.settings import SearchSettings
from automl.engine.space import default_points
from automl.errors import ConfigError
from automl.families import Family
from automl.layers import count_parameters
from automl.search_spaces import get_family
from automl.task_info import TaskInfo

ADDRESS_TIMEOUT_S = 5.0  # to reach a cluster's head before giving up
# Default GPU share of a trial from the size of the largest default network: small networks
# leave a GPU mostly idle, so several trials share one (Ray's fractions are logical: each
# trial still has the whole memory, and an out-of-memory error is retried at half the batch).
GPU_SHARE_BY_PARAMS = ((5_000_000, 0.25), (50_000_000, 0.5))


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux and macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def start_ray(address: str | None) -> None:
    import ray

    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "logging_level": logging.ERROR,
        "configure_logging": True,
    }
    if address:
        try:
            ray.init(address=address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(
                f"Cannot connect to the Ray cluster at '{address}': {str(exc).splitlines()[0]}. "
                "Check the address, or leave --address out to search on this machine."
            ) from exc
    else:
        ray.init(num_cpus=usable_cpus(), **kwargs)


def cluster_address(explicit: str | None) -> str | None:
    """The Ray cluster to search on: the one given, else $RAY_ADDRESS, else None (a local Ray
    for this search). Resolved here once: ray.init reads $RAY_ADDRESS by itself, and would
    then refuse the CPU count a local start passes."""
    return explicit or os.environ.get("RAY_ADDRESS") or None


def check_address(address: str) -> None:
    """Fail in seconds on an address nothing listens at: ray.init itself retries for minutes."""
    if address == "auto":
        return  # Ray resolves it from the local session files and fails fast when there is none
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), ADDRESS_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"Cannot reach a Ray cluster at '{address}' ({exc}); pass auto, host:port or "
            "ray://host:port of a running cluster, or leave --address out (and RAY_ADDRESS unset) "
            "to search locally."
        ) from exc


def usable_cpus() -> int:
    """CPUs this process may run on (cgroup/affinity limits included, unlike os.cpu_count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def trial_resources(task: TaskInfo, settings: SearchSettings) -> dict[str, float]:
    """What one trial asks Ray for: its CPUs and, on a cluster with GPUs, a share of one."""
    import ray

    resources = {"cpu": settings.cpus_per_trial}
    gpus = settings.gpus_per_trial
    if gpus is None and ray.cluster_resources().get("GPU", 0) > 0:
        gpus = default_gpu_share(task)
    if gpus:
        resources["gpu"] = gpus
    return resources


def default_gpu_share(task: TaskInfo) -> float:
    """The GPU share of a trial, from the largest default network among the task's families
    (counted on the `meta` device: nothing is allocated)."""
    largest = 0
    with torch.device("meta"):
        for point in default_points(task):
            try:
                model = get_family(point["family"]).build(point, task)
            except Exception:  # noqa: BLE001 - a family that cannot build is judged by its trials
                continue
            largest = max(largest, count_parameters(model))
    for limit, share in GPU_SHARE_BY_PARAMS:
        if largest <= limit:
            return share
    return 1.0


def fitting_trials(resources: dict[str, float]) -> int:
    """How many trials of this size the cluster runs at once."""
    import ray

    total = ray.cluster_resources()
    fits = [total.get(key.upper(), 0.0) / need for key, need in resources.items() if need > 0]
    return max(1, int(min(fits)))


def ship_user_families(families: dict[str, Family]) -> None:
    """Pickle families defined outside automl by value: workers may not be able to import them."""
    from ray import cloudpickle

    for family in families.values():
        module = sys.modules.get(family.build.__module__)
        if module is not None and not module.__name__.startswith("automl"):
            if module.__name__ != "__main__":  # __main__ is pickled by value already
                cloudpickle.register_pickle_by_value(module)
