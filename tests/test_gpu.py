"""Trials on a GPU: shared by fractions, placed on the device Ray assigns, out-of-memory
retried at half the batch. Skipped without CUDA (CI has none); bench/gpu.py measures
utilisation and trials per hour with 1, 2 and 4 trials per GPU."""

from __future__ import annotations

import pytest
import torch

from automl import AutoDeep
from automl.study import load_trials, read_config

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_trials_share_a_gpu_and_train_on_it(ray_local, studies_dir, digits_images):
    images, labels = digits_images
    est = AutoDeep(
        budget="3m",  # 6 trials end it
        families=["cnn"],
        studies_dir=studies_dir,
        gpus_per_trial=0.5,
        max_trials=6,
        max_epochs=4,
        verbose=False,
    ).fit(images[:1200], labels[:1200])
    trials = load_trials(est.study_dir_)
    assert len(trials) == 6 and {t.user_attrs["device"] for t in trials} == {"cuda"}
    search = read_config(est.study_dir_)["runs"][0]["search"]
    assert search["resources_per_trial"]["gpu"] == 0.5 and search["concurrency"] >= 2
    assert est.score(images[1200:], labels[1200:]) > 0.8


def test_running_out_of_gpu_memory_is_retried_at_half_the_batch(
    ray_local, studies_dir, breast_cancer_frame
):
    from tests.support import faulty_families  # noqa: F401 - 'oom' asks a GPU for a terabyte

    frame, y = breast_cancer_frame
    est = AutoDeep(
        budget="3m",  # 6 trials end it
        families=["oom", "mlp"],
        studies_dir=studies_dir,
        gpus_per_trial=0.25,
        max_trials=6,
        max_epochs=3,
        verbose=False,
    ).fit(frame, y)
    board = est.leaderboard()
    oom = board[board["family"] == "oom"]
    assert len(oom) and (oom["status"] != "failed").all()
    assert oom["reason"].str.contains("retried at batch size 16").all()
    assert torch.cuda.memory_allocated() < 1 << 30  # nothing of the trials kept in this process
