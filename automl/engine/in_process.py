"""The in-process executor: trials run one after another in the driver, asked of Optuna
directly, recorded exactly as the Ray executor records them.

For runs where Ray buys nothing (one trial, one at a time: the estimator checks' fits, a
quick look at a dataset): no Ray start, no worker process importing torch. What it cannot do
is stop a trial hung inside one step; the time cap and the deadline are checked after every
step (`run_trial`'s interrupt).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from automl.engine.job import SearchFigures, SearchJob, open_study_sampler
from automl.engine.recorder import TrialEnd, TrialRecorder
from automl.engine.scheduler import TimeCaps
from automl.engine.space import SearchSpace, fallback_points
from automl.engine.trial import ERROR_KEY, METRIC, run_trial
from automl.families import Family
from automl.trainer import default_device
from automl.trial_record import BUDGET_STOP, INTERRUPT_STOP, Attr

NODE = "in-process"  # where its trials ran, in place of a Ray node id


@dataclass
class _Run:
    job: SearchJob
    study: Any
    caps: TimeCaps
    recorder: TrialRecorder = field(init=False)
    space: SearchSpace = field(init=False)
    families: dict[str, Family] = field(init=False)
    device: str = field(init=False)

    def __post_init__(self) -> None:
        self.recorder = TrialRecorder(self.job.study_dir, fallback_points(self.job.task))
        self.space = self.job.space()
        self.families = self.job.families()
        self.device = default_device()

    def trial(self) -> bool:
        """Ask for one trial, run it, record it; True when Ctrl-C interrupted it."""
        job, ot_trial = self.job, self.study.ask()
        key = ot_trial.number
        self.recorder.started(key)
        scored = 0
        last: dict[str, Any] = {}

        def report(result: dict[str, Any]) -> None:
            nonlocal scored, last
            last = result
            if self.recorder.on_result(key, ot_trial, result):
                scored += 1
                ot_trial.report(result[METRIC], scored)  # as Tune's training_iteration
                if job.progress is not None:
                    job.progress.on_score(result[METRIC], ot_trial.params["family"])

        def stopping() -> bool:
            return job.deadline.expired() or self.caps.over(key)

        interrupted = False
        try:  # the first Ctrl-C, anywhere in the trial: record it and finish with the others
            config = {**self.space(ot_trial), **ot_trial.params}
            run_trial(
                config,
                job.data,
                job.task,
                job.settings,
                self.families,
                report,
                self.device,
                facts={Attr.NODE: NODE},
                interrupt=stopping,
                study_dir=job.study_dir,
                time_s=min(self.caps.cap_s, job.deadline.remaining()),
                cap_s=self.caps.cap_s,
            )
        except KeyboardInterrupt:
            interrupted = True
        end = TrialEnd(
            last,
            timed_out=self.caps.verdict(key),
            stopped=INTERRUPT_STOP if interrupted else BUDGET_STOP,
        )
        self.recorder.close(key, self.study, ot_trial, end)
        if job.progress is not None:
            job.progress.on_trial_end(failed=ERROR_KEY in last)
        return interrupted


def run_in_process(job: SearchJob) -> SearchFigures:
    import optuna

    storage, sampler = open_study_sampler(job)
    study = optuna.create_study(
        storage=storage,
        sampler=sampler,
        pruner=optuna.pruners.NopPruner(),
        study_name=job.study_dir.name,
        load_if_exists=True,
        direction="maximize",
    )
    limit = job.settings.run_max_trials
    for point in job.first_points():
        study.enqueue_trial(point)
    caps = TimeCaps(job.trial_cap_s(), job.deadline.clock)
    run = _Run(job, study, caps)
    threads = torch.get_num_threads()  # a trial sets its own; the driver's is given back
    started = job.deadline.now()
    interrupted, ran = False, 0
    try:
        while not interrupted and not job.deadline.expired() and (limit is None or ran < limit):
            ran += 1
            interrupted = run.trial()
    except KeyboardInterrupt:  # between trials (asking Optuna): a --resume closes what it left
        interrupted = True
    finally:
        torch.set_num_threads(threads)
    return SearchFigures(
        seconds=round(job.deadline.now() - started, 3),
        interrupted=interrupted,
        concurrency=1,
        resources_per_trial={"cpu": job.settings.cpus_per_trial},
        trial_timeout_s=round(caps.cap_s, 1),
        executor="in_process",
    )
