"""Strict reading of JSON values, each error naming the value's JSON path.

The parser keeps numbers exact (``Decimal``), turns ``NaN``/``Infinity`` into values
the readers refuse with their path, and remembers duplicate keys so the object's
reader can refuse them with theirs. The readers are the only place that knows what a
time, a duration or an amount of money looks like in these files.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from scheduler.errors import InvalidArgument
from solver.money import to_micros

ROOT: Final = "$"
#: Seconds and counts above this are refused: they would overflow the solver's
#: 64-bit arithmetic long before they mean anything (10**9 s is 31 years).
MAX_COUNT: Final = 10**9
#: Dollars above this are refused for the same reason (10**15 micro-dollars).
MAX_DOLLARS: Final = Decimal(10**9)
TIME_HINT: Final = "must be a timezone-aware ISO-8601 time"
_TIME_EXAMPLE: Final = "like 2026-06-01T08:00:00Z"
_ZERO: Final = Decimal(0)
_MONEY = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


class _JsonObject(dict[str, object]):
    """A parsed JSON object that remembers keys given more than once."""

    duplicate_keys: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, object]]) -> _JsonObject:
    obj = _JsonObject(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicates = []
        for key, _ in pairs:
            if key in seen:
                duplicates.append(key)
            seen.add(key)
        obj.duplicate_keys = tuple(duplicates)
    return obj


def _constant(name: str) -> float:
    # Kept as a float so the reader of the field refuses it with the field's path.
    return float(name.replace("Infinity", "inf"))


def parse_json(text: str | bytes) -> object:
    """JSON text to Python values with exact numbers; invalid JSON is an error at ``$``."""
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            ROOT, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidArgument(ROOT, f"not UTF-8 text ({exc.reason})") from None


def read_json_file(path: Path) -> object:
    """A JSON file's content; an unreadable file is an error named by its path."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidArgument(str(path), exc.strerror or str(exc)) from None
    return parse_json(data)


# --- values -------------------------------------------------------------------------


def string(path: str, value: object, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidArgument(path, "must be a string")
    if not allow_empty and not value.strip():
        raise InvalidArgument(path, "must not be empty")
    return value


def location(path: str, value: object) -> str:
    text = string(path, value)
    cloud, sep, region = text.partition(":")
    if not sep or not cloud or not region:
        raise InvalidArgument(path, f'{text!r} is not a location "cloud:region"')
    return text


def boolean(path: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgument(path, "must be true or false")
    return value


def number(
    path: str,
    value: object,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = MAX_COUNT,
) -> float:
    """A finite JSON number, ``>= minimum``, ``> above`` and ``<= maximum`` when given."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise InvalidArgument(path, "must be a number")
    as_float = float(value)
    if not math.isfinite(as_float):
        raise InvalidArgument(path, "must be a finite number (NaN and Infinity are not allowed)")
    if minimum is not None and as_float < minimum:
        raise InvalidArgument(path, f"must be >= {minimum:g}, got {value}")
    if above is not None and as_float <= above:
        raise InvalidArgument(path, f"must be > {above:g}, got {value}")
    if maximum is not None and as_float > maximum:
        raise InvalidArgument(path, f"must be <= {maximum:.12g}, got {value}")
    return as_float


def integer(path: str, value: object, *, minimum: int | None = None) -> int:
    as_float = number(path, value, minimum=minimum)
    if not as_float.is_integer():
        raise InvalidArgument(path, f"must be a whole number, got {value}")
    return int(as_float)


def seconds(path: str, value: object, *, above: float | None = None) -> int:
    """A duration in seconds, rounded to a whole second; ``>= 0`` unless ``above``."""
    return round(number(path, value, minimum=0 if above is None else None, above=above))


def money(path: str, value: object, *, minimum: Decimal | None = _ZERO) -> int:
    """Dollars as a decimal string (``"0.0416"``) or a number, exactly, to micro-dollars."""
    if isinstance(value, str):
        if not _MONEY.fullmatch(value):
            raise InvalidArgument(path, f'{value!r} is not an amount in dollars like "0.0416"')
        amount = Decimal(value)
    elif isinstance(value, float):
        # Only reachable when a caller hands us floats (our parser yields Decimal):
        # the shortest repr is the literal they wrote.
        amount = Decimal(repr(value))
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        amount = Decimal(value)
    else:
        raise InvalidArgument(path, 'must be an amount in dollars, e.g. "0.0416"')
    if not amount.is_finite():
        raise InvalidArgument(path, "must be a finite amount (NaN and Infinity are not allowed)")
    if minimum is not None and amount < minimum:
        raise InvalidArgument(path, f"must be >= {minimum}, got {value}")
    if abs(amount) > MAX_DOLLARS:
        raise InvalidArgument(path, f"must be at most {MAX_DOLLARS} dollars, got {value}")
    return to_micros(amount)


def time(path: str, value: object) -> int:
    """An ISO-8601 time with ``Z`` or an offset, to epoch seconds (rounded down)."""
    if not isinstance(value, str):
        raise InvalidArgument(path, f"{TIME_HINT} {_TIME_EXAMPLE}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidArgument(path, f"{TIME_HINT} {_TIME_EXAMPLE}, got {value!r}") from None
    if parsed.utcoffset() is None:
        raise InvalidArgument(path, f"{TIME_HINT}; {value!r} has no Z or offset")
    return (parsed - _EPOCH) // _SECOND


def iso(epoch_s: int) -> str:
    """Epoch seconds to the ISO-8601 UTC form this format writes (``...Z``)."""
    return (_EPOCH + timedelta(seconds=epoch_s)).isoformat().replace("+00:00", "Z")


def array(path: str, value: object) -> Iterator[tuple[str, object]]:
    """``(path of item, item)`` for each item of a JSON array."""
    if not isinstance(value, list):
        raise InvalidArgument(path, "must be an array")
    for i, item in enumerate(value):
        yield f"{path}[{i}]", item


def key_path(path: str, key: str) -> str:
    """The path of a member whose name is data (a pool id), not a field name."""
    return f"{path}[{key!r}]"


def check_version(doc: object, expected: int) -> None:
    """Refuse a document of another format version, before looking at its fields
    (a newer file's new fields would otherwise be reported as unknown)."""
    if not isinstance(doc, dict):
        return  # Fields says what is wrong with it
    version = doc.get("format_version")
    if version is None:
        raise InvalidArgument("format_version", f"required ({expected})")
    if isinstance(version, bool) or version != expected:
        shown = json.dumps(version, default=str)
        raise InvalidArgument(
            "format_version", f"unsupported version {shown} (expected {expected})"
        )


# --- objects ------------------------------------------------------------------------


class Fields:
    """One JSON object being read. Unknown and duplicate keys are refused up front;
    ``null`` means the same as leaving a field out."""

    def __init__(self, path: str, value: object, known: Collection[str]) -> None:
        self.path = path
        if not isinstance(value, dict):
            raise InvalidArgument(path or ROOT, "must be an object")
        if isinstance(value, _JsonObject) and value.duplicate_keys:
            raise InvalidArgument(self.at(value.duplicate_keys[0]), "duplicate key")
        for key in value:
            if key not in known:
                raise InvalidArgument(
                    self.at(str(key)), f"unknown field (known: {', '.join(sorted(known))})"
                )
        self._value: dict[str, object] = value

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self._value.get(key) is not None

    def required(self, key: str) -> object:
        value = self._value.get(key)
        if value is None:
            raise InvalidArgument(self.at(key), "required")
        return value

    def optional(self, key: str) -> object:
        return self._value.get(key)
