"""How the report's inputs are parsed and its numbers shown (CLI flags, HTML text)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from scheduler.cli.report import parse_formats, parse_time
from scheduler.errors import InvalidArgument
from scheduler.reports.html import compact, duration, money, percent


def test_times_are_dates_at_midnight_utc_or_iso_with_a_zone() -> None:
    assert parse_time("--from", "2026-11-02") == datetime(2026, 11, 2, tzinfo=UTC)
    assert parse_time("--from", "2026-11-02T10:30Z") == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert parse_time("--to", "2026-11-02T10:30+02:00") == datetime(2026, 11, 2, 8, 30, tzinfo=UTC)
    assert parse_time("--to", "") is None
    for bad in ("2026-11-02T10:30", "2026-13-01", "soon"):
        with pytest.raises(InvalidArgument) as e:
            parse_time("--to", bad)
        assert e.value.field == "--to"


def test_formats() -> None:
    assert parse_formats("json") == ("json",)
    assert parse_formats(" CSV, html,csv ") == ("csv", "html")
    for bad in ("", "pdf", "json,xml"):
        with pytest.raises(InvalidArgument) as e:
            parse_formats(bad)
        assert e.value.field == "--format"


def test_shown_numbers() -> None:
    assert money(Decimal("1234.500000")) == "$1,234.500000"
    assert money(Decimal("-0.000010")) == "-$0.000010"
    assert money(None) == percent(None) == duration(None) == "n/a"
    assert percent(Decimal("83.33")) == "83.33%"
    assert [duration(Decimal(s)) for s in ("4.25", "185", "3720", "183600")] == [
        "4.2s", "3m05s", "1h02m", "2d03h",
    ]  # fmt: skip
    assert [compact(Decimal(s)) for s in ("0", "90", "300", "5400", "172800")] == [
        "0", "1m30s", "5m", "1h30m", "2d",
    ]  # fmt: skip
