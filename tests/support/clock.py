"""Clocks a test controls, for every layer that reads the time through a Deadline."""

from __future__ import annotations


class FakeClock:
    """Stands still until `advance`; `tick` seconds pass at each reading (0: none).

    With a tick, virtual time follows the work the code does (how often it looks at the
    clock), not how fast the machine is: the same run takes the same virtual time anywhere.
    """

    def __init__(self, start: float = 1000.0, tick: float = 0.0) -> None:
        self.now = start
        self.tick = tick
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        now = self.now
        self.now += self.tick
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds
