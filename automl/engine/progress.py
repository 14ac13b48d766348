"""Progress lines while a search runs: trials done, best so far, time left."""

from __future__ import annotations

import sys

from automl.budget import Deadline, format_seconds

PROGRESS_EVERY_S = 10.0  # a line at least this often while trials finish
PROGRESS_MIN_GAP_S = 2.0  # and at most this often when the best score improves


class Progress:
    """Told of every scored epoch and every ended trial; prints at most every few seconds."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        self.done = 0
        self.failed = 0
        self.best: tuple[float, str] | None = None
        self._last_print = -float("inf")

    def on_score(self, score: float, family: str) -> None:
        if self.best is None or score > self.best[0]:
            self.best = (float(score), str(family))
            if self.deadline.now() - self._last_print > PROGRESS_MIN_GAP_S:
                self._print()

    def on_trial_end(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        if self.deadline.now() - self._last_print > PROGRESS_EVERY_S:
            self._print()

    def line(self) -> str:
        best = f"best {self.best[0]:.4f} ({self.best[1]})" if self.best else "best -"
        failed = f" ({self.failed} failed)" if self.failed else ""
        left = format_seconds(self.deadline.remaining())
        return f"trials {self.done} done{failed} | {best} | {left} left"

    def _print(self) -> None:
        self._last_print = self.deadline.now()
        print(self.line(), file=sys.stderr, flush=True)  # stderr looked up now: Tune pickles it
