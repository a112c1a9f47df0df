"""Backoff for throttled calls: doubling delays with jitter, a cap, a bounded number of tries."""

from __future__ import annotations

import random

from scheduler.control.backoff import Backoff


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_delays_double_with_jitter_up_to_the_cap_and_tries_are_bounded() -> None:
    clock = Clock()
    b = Backoff(base_s=1.0, cap_s=8.0, max_tries=6, clock=clock, rng=random.Random(7))
    assert b.ready("a")
    waits = []
    for n in range(1, 7):
        assert b.failed("a") == n
        wait = b._state["a"].ready_at - clock.now
        nominal = min(8.0, 2 ** (n - 1))
        assert 0.5 * nominal <= wait < 1.5 * nominal
        assert not b.ready("a")
        assert b.ready("other"), "one key's backoff holds no other key back"
        clock.now += wait
        assert b.ready("a")
        waits.append(wait)
    assert b.exhausted("a")
    assert len(set(waits)) == len(waits), "jitter: no two waits alike"
    b.forget("a")
    assert b.ready("a") and not b.exhausted("a")
