"""Shared fixtures: small real datasets, a temporary studies directory, one local Ray."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

from tests.support.images import write_image_folder

os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray for the whole run; searches in this process reuse it instead of starting
    their own (a start costs several seconds)."""
    import ray

    import automl.engine  # noqa: F401 - sets Tune's environment before Ray is imported

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.fixture
def studies_dir(tmp_path: Path) -> Path:
    return tmp_path / "studies"


@pytest.fixture(scope="session")
def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """sklearn digits as (n, 8, 8) grey images in [0, 16] and integer labels."""
    digits = load_digits()
    return digits.images.astype(np.float32), digits.target


@pytest.fixture(scope="session")
def breast_cancer_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """breast_cancer with one categorical column and missing values added, as users have."""
    data = load_breast_cancer(as_frame=True)
    frame = data.data.copy()
    rng = np.random.default_rng(0)
    frame["site"] = rng.choice(["left", "right", "unknown"], size=len(frame))
    frame.loc[rng.choice(len(frame), 40, replace=False), "mean radius"] = np.nan
    frame.loc[rng.choice(len(frame), 20, replace=False), "site"] = None
    return frame, data.target.to_numpy()


@pytest.fixture
def digits_folder(tmp_path: Path, digits_images) -> Path:
    """300 digits written as a PNG folder with one sub-folder per class."""
    images, labels = digits_images
    return write_image_folder(tmp_path / "digits", images[:300], labels[:300])
