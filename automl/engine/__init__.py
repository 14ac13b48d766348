"""The search engine: Optuna decides, an executor runs the trials, the study on disk records.

Along Tune's seams, one module each: the define-by-run space (`space`), the trial itself
(`trial`, no Ray), what a trial records (`recorder`), Tune's searcher (`searcher`) and
scheduler (`scheduler`), the cluster and resources (`cluster`), and two executors:
`ray_executor` (Ray Tune: parallel trials, ASHA, time caps that stop hung trials, clusters)
and `in_process` (one trial in the driver, for runs where Ray buys nothing).

    run_search(job) -> SearchFigures
"""

from __future__ import annotations

import os

from automl.engine.job import SearchFigures, SearchJob, uses_ray
from automl.engine.settings import SearchData, SearchSettings
from automl.engine.space import default_points

# Set before Ray is imported: no per-trial result files, no strict metric check (a failed trial
# reports its reason without a score).
os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
os.environ.setdefault("TUNE_DISABLE_STRICT_METRIC_CHECKING", "1")
os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")
# Tune's own experiment state is never restored (a resume starts from study.db): write it
# rarely instead of every few steps.
os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "3600")
# A worker asked to stop a trial that hangs (past its time cap) is killed after this many
# seconds, not Tune's 600: until then it holds its CPU, and two hung trials held a 2-core
# search idle until its budget ended.
os.environ.setdefault("TUNE_FORCE_TRIAL_CLEANUP_S", "5")

__all__ = [
    "SearchData",
    "SearchFigures",
    "SearchJob",
    "SearchSettings",
    "default_points",
    "run_search",
    "uses_ray",
]


def run_search(job: SearchJob) -> SearchFigures:
    """Search until the job's deadline (or its settings' run_max_trials); every trial ends up
    recorded in study.db."""
    if uses_ray(job.settings):
        from automl.engine.ray_executor import run_with_ray

        return run_with_ray(job)
    from automl.engine.in_process import run_in_process

    return run_in_process(job)
