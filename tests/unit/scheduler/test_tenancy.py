"""Token format, the token cache and the rate limiter, on fake clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scheduler.api.auth import RateLimiter, TokenVerifier
from scheduler.errors import InvalidArgument
from scheduler.tenancy import (
    BudgetWindow,
    Principal,
    Role,
    new_token,
    parse_amount,
    secret_hash,
    split_token,
    window_bounds,
)

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_tokens_split_back_into_id_and_secret_and_hash_only_the_secret() -> None:
    token_id, token, digest = new_token()
    assert token.startswith(f"sbt_{token_id}_")
    parts = split_token(token)
    assert parts is not None and parts[0] == token_id and secret_hash(parts[1]) == digest
    for bad in ("", "sbt_", "sbt_xyz_secretsecretsecret", f"abc_{token_id}_{'s' * 40}", "Bearer"):
        assert split_token(bad) is None


def test_the_cache_asks_the_store_once_per_ttl_and_never_past_expiry() -> None:
    mono = Clock()
    calls: list[str] = []
    alice = Principal("alice", Role.USER, "0123456789ab")
    expiry = T0 + timedelta(seconds=2)

    def lookup(token: str, now: datetime) -> tuple[Principal, datetime | None] | None:
        calls.append(token)
        if token == "good":
            return alice, None
        if token == "brief":
            return alice, expiry
        return None

    v = TokenVerifier(lookup, clock=lambda: T0, ttl_s=5.0, monotonic=mono)
    assert v.verify("good") == alice and v.verify("good") == alice
    assert v.verify("bad") is None and v.verify("bad") is None
    assert calls == ["good", "bad"]  # bad answers are cached too
    mono.t = 5.1
    assert v.verify("good") == alice and calls[-1] == "good" and len(calls) == 3
    assert v.verify("brief") == alice
    mono.t = 7.2  # past the token's expiry, well within the ttl
    v.verify("brief")
    assert calls.count("brief") == 2


def test_rate_limiter_buckets_are_per_tenant_and_refill() -> None:
    mono = Clock()
    r = RateLimiter(2.0, 3.0, monotonic=mono)
    assert [r.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = r.acquire("a")
    assert wait == pytest.approx(0.5)
    assert r.acquire("b") == 0.0
    mono.t = 0.5
    assert r.acquire("a") == 0.0 and r.acquire("a") > 0
    with pytest.raises(ValueError):
        RateLimiter(0, 1)


def test_windows_and_amounts() -> None:
    sunday = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)
    assert window_bounds(BudgetWindow.WEEK, sunday) == (
        datetime(2026, 11, 23, tzinfo=UTC),
        datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert window_bounds(BudgetWindow.DAY, sunday)[0] == datetime(2026, 11, 29, tzinfo=UTC)
    assert str(parse_amount("$12.50")) == "12.50"
    for bad in ("", "abc", "-1", "NaN", "Infinity", "1e13"):
        with pytest.raises(InvalidArgument):
            parse_amount(bad)
