"""`automl fit` in its own process, as a user runs it, for the tests that kill, interrupt or
run several searches at once. Each process leads its own process group, so whatever Ray left
behind can be stopped by group without touching any other Ray session on the machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from automl.study import load_trials

ROOT = Path(__file__).resolve().parents[2]  # the checkout


def start_fit(data: Path, studies: Path, *args: str, env: dict[str, str] | None = None):
    """Start `automl fit DATA --studies-dir STUDIES ARGS...`; stdout and stderr go to files
    next to the studies dir."""
    log = studies.parent / f"fit-{time.monotonic_ns()}.log"
    command = [sys.executable, "-m", "automl", "fit", str(data), "--studies-dir", str(studies)]
    process = subprocess.Popen(
        [*command, *args],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        start_new_session=True,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def output(process) -> str:
    return process.log.read_text()


def finish(process, timeout: float = 240) -> str:
    """Wait for the process; its output. Whatever it left running is stopped."""
    try:
        process.wait(timeout=timeout)
    finally:
        stop_group(process)
    return output(process)


def stop_group(process) -> None:
    """SIGKILL what is left of the process's group (Ray's agents ignore SIGTERM)."""
    if process.poll() is None:
        process.kill()
        process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for_trials(
    study_dir: Path,
    condition: Callable[[list[Any]], bool],
    process,
    timeout: float = 120,
) -> list[Any]:
    """Poll the study (read-only, as the dashboard does) until `condition(trials)` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the search ended early:\n{output(process)[-3000:]}"
        try:
            trials = load_trials(study_dir)
        except (KeyError, FileNotFoundError, ValueError):  # not created yet
            trials = []
        if condition(trials):
            return trials
        time.sleep(0.5)
    raise AssertionError(f"no such trials after {timeout}s:\n{output(process)[-3000:]}")
