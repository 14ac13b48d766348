"""The same search on an existing Ray cluster: two nodes started on this machine with
`ray start` (one CPU each, loopback), stopped by the test, and trials placed on both."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
from sklearn.datasets import load_breast_cancer

import automl
from automl.study import load_trials
from tests.support.search_process import finish, start_fit

pytestmark = pytest.mark.slow
# Ray 2.59+ turns token authentication on for clusters it starts; every process of this
# throwaway loopback cluster (both nodes and the driver) agrees to run without it.
CLUSTER_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ray_start(*args: str, temp_dir: str) -> subprocess.Popen:
    """`ray start --block`: the node lives as long as this process and its group."""
    return subprocess.Popen(
        ["ray", "start", "--block", "--num-cpus=1", "--disable-usage-stats", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **CLUSTER_ENV, "RAY_TMPDIR": temp_dir},
        start_new_session=True,
    )


def _nodes_alive(address: str, expected: int, timeout: float = 60) -> None:
    """Wait until the cluster has `expected` nodes (checked from a short-lived driver)."""
    script = (
        f"import ray; ray.init(address='{address}', logging_level='ERROR'); "
        "print(sum(n['Alive'] for n in ray.nodes()))"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = subprocess.run(
            ["python", "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, **CLUSTER_ENV},
            timeout=60,
        )
        if result.stdout.strip() == str(expected):
            return
        time.sleep(1)
    raise AssertionError(f"the cluster did not reach {expected} nodes: {result.stderr[-2000:]}")


@pytest.fixture
def two_node_cluster():
    """A head and a worker node on loopback, one CPU each; both stopped afterwards (by their
    process groups: `ray stop` would stop every Ray of this user on the machine)."""
    if shutil.which("ray") is None:
        pytest.fail("the ray command is not on PATH; install the project with pip install -e .")
    port = _free_port()
    address = f"127.0.0.1:{port}"
    temp_dir = tempfile.mkdtemp(prefix="rc", dir="/tmp")  # short: Ray's socket paths are long
    head = _ray_start(
        "--head",
        f"--port={port}",
        "--node-ip-address=127.0.0.1",
        "--include-dashboard=false",
        f"--temp-dir={temp_dir}",
        temp_dir=temp_dir,
    )
    nodes = [head]
    try:
        _nodes_alive(address, 1)
        nodes.append(
            _ray_start(f"--address={address}", "--node-ip-address=127.0.0.1", temp_dir=temp_dir)
        )
        _nodes_alive(address, 2)
        yield address
    finally:
        for node in reversed(nodes):
            node.send_signal(signal.SIGTERM)  # ray start --block stops its node's processes
        for node in reversed(nodes):
            try:
                node.wait(timeout=30)
            finally:
                try:
                    os.killpg(node.pid, signal.SIGKILL)  # whatever ignored SIGTERM
                except ProcessLookupError:
                    pass
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_a_search_runs_on_a_two_node_cluster(two_node_cluster, tmp_path):
    data = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
    studies = tmp_path / "studies"
    search = start_fit(
        data,
        studies,
        "--study",
        "cluster",
        "--budget",
        "4m",  # 8 trials end it
        "--max-trials",
        "8",
        "--max-epochs",
        "4",
        *("--selection", "holdout"),  # one network per trial (the finish retrains it)
        env={**CLUSTER_ENV, "RAY_ADDRESS": two_node_cluster},  # as a cluster user sets it
    )
    log = finish(search, timeout=180)
    assert search.returncode == 0, log
    trials = load_trials(studies / "cluster")
    assert len(trials) == 8 and all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    nodes = {t.user_attrs["node"] for t in trials}
    assert len(nodes) == 2, f"trials ran on {nodes}"
    config = (studies / "cluster" / "config.json").read_text()
    assert two_node_cluster in config  # the run records where it ran
    assert automl.load(studies / "cluster" / "best").config["members"]
