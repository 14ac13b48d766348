"""Which process is searching a study: one driver per study, and what a killed one left.

A running search writes `driver.json` into its study (pid, process group, host, the process's
start time). A second search of the same study is refused while that driver lives; once it
is dead (killed with SIGKILL, the machine rebooted), `--resume` takes the study over and first
stops the Ray processes the dead driver left behind: Ray's agents outlive a killed driver and
ignore SIGTERM. Only processes in the dead driver's own process group are touched, and only
when the driver led that group (as a command started from a shell does), so no other Ray
session on the machine is affected.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

from automl.errors import ConfigError

DRIVER_FILE = "driver.json"


def _stat(proc: Path) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...);
    None when the process is gone or /proc is not available (not Linux)."""
    try:
        return (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot, which tells a live driver from a
    later process that reused its pid."""
    fields = _stat(Path(f"/proc/{pid}"))
    return fields[19] if fields else None


def group_members(pgid: int) -> dict[int, str]:
    """Live (not zombie) processes of a process group: pid -> command."""
    members = {}
    for proc in Path("/proc").glob("[0-9]*"):
        fields = _stat(proc)
        if fields is None or int(fields[2]) != pgid or fields[0] == "Z":
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            continue
        members[int(proc.name)] = command.decode(errors="replace")
    return members


def _alive(record: dict[str, Any]) -> bool:
    if record.get("host") != socket.gethostname():
        return False  # another machine's driver: its liveness cannot be checked from here
    pid = int(record["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    started = _start_time(pid)
    return started is None or started == record.get("start_time")


def read_driver(study_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((study_dir / DRIVER_FILE).read_text())
    except (OSError, ValueError):
        return None


def claim(study_dir: Path) -> None:
    """Record this process as the study's driver; refuse if another live process is one."""
    pid = os.getpid()
    record = read_driver(study_dir)
    if record is not None and record["pid"] != pid:
        if _alive(record):
            raise ConfigError(
                f"The study '{study_dir.name}' is being searched by process {record['pid']} "
                "right now; wait for it to finish, or stop it and then pass --resume."
            )
        reap_orphans(record)
    tmp = study_dir / f".{DRIVER_FILE}.tmp"
    tmp.write_text(
        json.dumps(
            {
                "pid": pid,
                "pgid": os.getpgid(pid),
                "host": socket.gethostname(),
                "start_time": _start_time(pid),
                "claimed_at": time.time(),
            }
        )
    )
    tmp.replace(study_dir / DRIVER_FILE)


def release(study_dir: Path) -> None:
    record = read_driver(study_dir)
    if record is not None and record["pid"] == os.getpid():
        (study_dir / DRIVER_FILE).unlink(missing_ok=True)


def reap_orphans(record: dict[str, Any]) -> list[int]:
    """SIGKILL the Ray processes a dead driver left in its process group; their pids."""
    pgid = int(record.get("pgid", -1))
    if pgid != int(record["pid"]) or record.get("host") != socket.gethostname():
        return []
    killed = []
    for pid, command in group_members(pgid).items():
        if command.startswith("ray::") or "/ray/" in command:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except OSError:
                continue
    return killed
