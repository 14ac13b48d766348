"""Time budgets: parse '1h30m' and carry one Deadline down through every layer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from automl.errors import ConfigError

_UNIT_SECONDS = {"h": 3600, "m": 60, "s": 1}
_BUDGET_PATTERN = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
MIN_BUDGET_S = 30.0  # below this, Ray start-up and the finish reserve leave no time to search
# Longer budgets train longer: a trial's epoch cap is BASE_EPOCHS up to BASE_BUDGET_S, then
# grows with the square root of the budget (4 h: 84), at most MAX_EPOCHS; patience a quarter.
BASE_EPOCHS = 30
BASE_BUDGET_S = 1800.0
MAX_EPOCHS = 120
BASE_PATIENCE = 8


def parse_duration(text: str | int | float, what: str = "The budget") -> float:
    """Return seconds for '90s', '30m', '4h', '1h30m' or a plain number of seconds.

    >>> parse_duration("1h30m")
    5400.0
    """
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    cleaned = str(text).strip().lower().replace(" ", "")
    if cleaned.replace(".", "", 1).isdigit():
        return float(cleaned)
    match = _BUDGET_PATTERN.match(cleaned)
    if not cleaned or match is None or not any(match.groups()):
        raise ConfigError(
            f"{what} must be a duration like '90s', '30m', '4h' or '1h30m'; got {text!r}."
        )
    hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + secs


def parse_budget(text: str | int | float) -> float:
    """A search budget in seconds: a duration (see parse_duration) of at least MIN_BUDGET_S."""
    seconds = parse_duration(text)
    if seconds < MIN_BUDGET_S:
        raise ConfigError(
            f"The budget must be at least {MIN_BUDGET_S:.0f}s to leave time for a search; "
            f"got {seconds:.0f}s. Pass a longer one, e.g. --budget 2m."
        )
    return seconds


def epochs_for_budget(budget_s: float) -> int:
    """A full trial's epochs for a study of this budget (see BASE_EPOCHS).

    >>> epochs_for_budget(600), epochs_for_budget(3600), epochs_for_budget(4 * 3600)
    (30, 42, 84)
    """
    scale = max(1.0, budget_s / BASE_BUDGET_S) ** 0.5
    return int(min(MAX_EPOCHS, BASE_EPOCHS * scale))


def patience_for(max_epochs: int) -> int:
    """Epochs without progress before a trial stops: a quarter of its epochs, at least 8."""
    return max(BASE_PATIENCE, max_epochs // 4)


class Deadline:
    """A fixed point in time that every layer spends from; `remaining()` never goes below 0.

    `clock` (seconds, monotonic) is time.monotonic unless a test passes its own: every layer
    that reads the time through its deadline then follows that clock.
    """

    def __init__(
        self,
        seconds: float,
        start: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self.start = clock() if start is None else start
        self.total = float(seconds)

    @property
    def end(self) -> float:
        return self.start + self.total

    def now(self) -> float:
        return self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def sub(self, reserve: float) -> Deadline:
        """A deadline that ends `reserve` seconds before this one (for the part before a finish)."""
        return Deadline(max(0.0, self.total - reserve), start=self.start, clock=self.clock)


def format_seconds(seconds: float) -> str:
    """'1h02m', '3m05s', '42s' — short, for progress lines and reports."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"
