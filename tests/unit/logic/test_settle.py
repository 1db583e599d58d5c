"""settle: a wait loop's check looks again for a short while before it answers "not yet"."""

from __future__ import annotations

from hivemind.logic.common import SETTLE_STEP_S, settle
from hivemind.logic.ports import Ports
from hivemind.settings import Settings


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _ports(settle_s: float, time: FakeTime) -> Ports:
    return Ports(settings=Settings(settle_s=settle_s), store=None, events=None, objects=None, stacks=None,
                 commands=None, fleet=None, probe=None, repos=None, tagged=None, clock=time.clock, sleep=time.sleep)


def test_what_is_done_at_the_first_look_costs_no_sleep() -> None:
    time = FakeTime()
    assert settle(lambda: "done", lambda seen: seen == "done", _ports(2.0, time)) == "done"
    assert time.slept == []


def test_what_ends_during_the_settle_is_seen_in_the_same_check() -> None:
    time = FakeTime()
    looks = iter(["running", "running", "running", "done", "never looked at"])
    seen = settle(lambda: next(looks), lambda seen: seen == "done", _ports(2.0, time))
    assert seen == "done"
    assert time.slept == [SETTLE_STEP_S] * 3


def test_the_settle_never_outlasts_its_budget_and_returns_the_last_look() -> None:
    time = FakeTime()
    counter = iter(range(1000))
    seen = settle(lambda: next(counter), lambda seen: False, _ports(2.0, time))
    assert sum(time.slept) <= 2.0
    assert len(time.slept) == int(2.0 / SETTLE_STEP_S)
    assert seen == len(time.slept)  # the look after the last sleep


def test_zero_turns_it_off() -> None:
    time = FakeTime()
    looks: list[int] = []
    settle(lambda: looks.append(1), lambda seen: False, _ports(0, time))
    assert looks == [1] and time.slept == []
