"""The distribution ships search_spaces/ and dashboard/ inside automl's namespace only."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILT_IN = str(
    "autoencoder cnn conv1d dbn fasttext mlp nbeats rbm rnn rntn smoothing text_cnn".split()
)
# every module of the package imports (a subpackage missing from pyproject's list would not)
PROBE = (
    "import importlib, os, pkgutil, automl, automl.search_spaces, automl.dashboard; "
    "home = [os.path.dirname(automl.__file__)]; "
    "[importlib.import_module(m.name) for m in pkgutil.walk_packages(home, 'automl.') "
    "if m.name != 'automl.__main__']; "
    "from automl.search_spaces import available_families; "
    "print(automl.search_spaces.__file__); print(sorted(available_families()))"
)


def _probe(cwd: Path, pythonpath: Path) -> tuple[Path, str]:
    """Import the packages in a fresh interpreter; return where search_spaces came from."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(pythonpath)},
        check=True,
    )
    path, families = probe.stdout.splitlines()
    return Path(path), families


def test_built_wheel_has_no_generic_top_level_names_and_imports(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("automl-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_level == {"automl"}
    assert "automl/search_spaces/mlp.py" in names and "automl/dashboard/__init__.py" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    path, families = _probe(tmp_path, site)
    assert path.is_relative_to(site)
    assert families == BUILT_IN


def test_checkout_imports_the_top_level_folders_as_automl_subpackages():
    path, families = _probe(ROOT, ROOT)
    assert path == ROOT / "search_spaces" / "__init__.py"
    assert families == BUILT_IN
