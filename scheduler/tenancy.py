"""Tenants, their bearer tokens and budgets: the domain side (no I/O).

A token is ``sbt_<id>_<secret>``: the id finds the row, the secret is checked against
the SHA-256 hash stored there (``hmac.compare_digest``); the secret itself is shown
once, when the token is created, and never stored. Budget windows are UTC calendar
periods (a month, an ISO week starting Monday, a day) or an explicit period.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from scheduler.errors import InvalidArgument

TOKEN_PREFIX = "sbt"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_TOKEN_ID = re.compile(r"[0-9a-f]{12}")


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class BudgetWindow(StrEnum):
    MONTH = "month"
    WEEK = "week"
    DAY = "day"
    #: An explicit ``[start, end)``.
    PERIOD = "period"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as proven by a bearer token."""

    tenant: str
    role: Role
    token_id: str

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


@dataclass(frozen=True)
class Tenant:
    name: str
    role: Role
    created_at: datetime
    disabled: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never its secret."""

    id: str
    tenant: str
    created_at: datetime
    description: str = ""
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True)
class TenantBudget:
    """At most ``amount`` dollars per window for the tenant's attempts (an attempt's
    cost counts against the window it started in, as the solver counts it)."""

    tenant: str
    amount: Decimal
    window: BudgetWindow
    set_at: datetime
    period_start: datetime | None = None
    period_end: datetime | None = None

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The window containing ``now`` (for a period: the period itself)."""
        if self.window is BudgetWindow.PERIOD:
            assert self.period_start is not None and self.period_end is not None
            return self.period_start, self.period_end
        return window_bounds(self.window, now)


def window_bounds(window: BudgetWindow, now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if window is BudgetWindow.DAY:
        return day, day + timedelta(days=1)
    if window is BudgetWindow.WEEK:
        start = day - timedelta(days=day.weekday())
        return start, start + timedelta(days=7)
    if window is BudgetWindow.MONTH:
        start = day.replace(day=1)
        end = (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else (start.replace(month=start.month + 1))
        )
        return start, end
    raise ValueError(f"{window} has no calendar bounds")


def check_tenant_name(name: str, field: str = "tenant") -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgument(field, f"{name!r} is not 1-64 of [A-Za-z0-9_-] (letter/digit first)")
    return name


def parse_window(text: str, field: str = "window") -> BudgetWindow:
    try:
        return BudgetWindow(text.strip().lower())
    except ValueError:
        known = ", ".join(w.value for w in BudgetWindow)
        raise InvalidArgument(field, f"{text!r} is not one of {known}") from None


def new_token() -> tuple[str, str, str]:
    """A fresh token: (id, the whole token to hand out, the hash to store)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{TOKEN_PREFIX}_{token_id}_{secret}", secret_hash(secret)


def split_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    prefix, _, rest = token.partition("_")
    token_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not _TOKEN_ID.fullmatch(token_id) or len(secret) < 16:
        return None
    return token_id, secret


def check_token_id(token_id: str, field: str = "token_id") -> str:
    if not _TOKEN_ID.fullmatch(token_id):
        raise InvalidArgument(field, f"{token_id!r} is not a token id (12 hex digits)")
    return token_id


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class BudgetStatus:
    """A budget and what its current window has seen so far."""

    budget: TenantBudget
    window_start: datetime
    window_end: datetime
    spent: Decimal


def parse_amount(text: str, field: str = "amount") -> Decimal:
    """A dollar amount: a finite decimal >= 0 (a leading ``$`` is allowed)."""
    try:
        amount = Decimal(text.strip().removeprefix("$"))
    except ArithmeticError:
        raise InvalidArgument(field, f"{text!r} is not a dollar amount") from None
    if not amount.is_finite() or amount < 0 or amount > 10**12:
        raise InvalidArgument(field, f"{text!r}: must be 0 to 1e12 dollars")
    return amount
