from __future__ import annotations

import time

import pytest

from automl.budget import Deadline, epochs_for_budget, format_seconds, parse_budget, patience_for
from automl.errors import ConfigError
from tests.support.clock import FakeClock


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("90s", 90),
        ("30m", 1800),
        ("4h", 14400),
        ("1h30m", 5400),
        ("2.5m", 150),
        ("120", 120),
        (45, 45),
    ],
)
def test_parse_budget_accepts_durations(text, seconds):
    assert parse_budget(text) == seconds


@pytest.mark.parametrize("text", ["fast", "", "1x", "m30", "-5m"])
def test_parse_budget_rejects_other_text_with_the_fix(text):
    with pytest.raises(ConfigError, match="duration like '90s'"):
        parse_budget(text)


def test_parse_budget_rejects_budgets_too_short_to_search():
    with pytest.raises(ConfigError, match="at least 30s"):
        parse_budget("20s")


def test_deadline_counts_down_and_sub_ends_earlier():
    clock = FakeClock()
    deadline = Deadline(10.0, clock=clock)
    early = deadline.sub(4.0)
    assert deadline.remaining() == 10.0 and early.remaining() == 6.0
    clock.advance(5.5)
    assert deadline.remaining() == 4.5 and early.remaining() == 0.5 and deadline.elapsed() == 5.5
    short = Deadline(0.05, clock=clock)
    assert not short.expired()
    clock.advance(0.06)
    assert short.expired() and short.remaining() == 0.0
    assert Deadline(10.0, clock=clock).sub(20.0).expired()
    assert early.clock is clock  # a deadline's parts keep its clock


def test_a_deadline_follows_the_real_clock_by_default():
    deadline = Deadline(10.0)
    assert 9.0 < deadline.remaining() <= 10.0 and deadline.clock is time.monotonic


def test_format_seconds():
    assert format_seconds(42) == "42s"
    assert format_seconds(185) == "3m05s"
    assert format_seconds(3720) == "1h02m"


def test_longer_budgets_train_longer_and_wait_longer_for_progress():
    budgets = [60, 600, 1800, 3600, 4 * 3600, 48 * 3600]
    epochs = [epochs_for_budget(b) for b in budgets]
    assert epochs == [30, 30, 30, 42, 84, 120]  # 30 up to 30 min, then x sqrt, capped
    assert [patience_for(e) for e in epochs] == [8, 8, 8, 10, 21, 30]
