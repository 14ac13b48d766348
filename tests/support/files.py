"""What a read-only reader must leave as it was."""

from __future__ import annotations

from pathlib import Path


def files_of(directory: Path) -> dict[Path, int]:
    """Every file's modification time, but SQLite's shared-memory index (study.db-shm), which
    any reader of a WAL database updates: the storage itself must not change."""
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*") if not p.name.endswith("-shm")}
