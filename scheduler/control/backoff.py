"""Exponential backoff with jitter, per key, for calls the cloud throttled.

A throttled (429 / 5xx) launch is retried with the same idempotency token, so a retry
can never launch twice; the backoff only keeps skybatch from hammering an API that
asked it to slow down. Each key waits ``base * 2**(tries - 1)`` seconds (capped),
times a random factor in [0.5, 1.5) so that many throttled calls do not retry in
lockstep. After ``max_tries`` the caller gives up. Other keys are not held back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    tries: int
    ready_at: float


class Backoff:
    def __init__(
        self,
        *,
        base_s: float,
        cap_s: float,
        max_tries: int,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.max_tries = max_tries
        self.clock = clock
        self.rng = rng or random.Random()
        self._state: dict[str, _State] = {}

    def ready(self, key: str) -> bool:
        """May ``key`` be tried now?"""
        st = self._state.get(key)
        return st is None or self.clock() >= st.ready_at

    def failed(self, key: str) -> int:
        """Record a throttled try of ``key``; returns how many in a row so far."""
        st = self._state.get(key) or _State(0, 0.0)
        st.tries += 1
        delay = min(self.cap_s, self.base_s * 2 ** (st.tries - 1))
        st.ready_at = self.clock() + delay * self.rng.uniform(0.5, 1.5)
        self._state[key] = st
        return st.tries

    def exhausted(self, key: str) -> bool:
        st = self._state.get(key)
        return st is not None and st.tries >= self.max_tries

    def forget(self, key: str) -> None:
        self._state.pop(key, None)
