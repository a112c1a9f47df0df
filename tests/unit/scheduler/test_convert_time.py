"""The hand-written timestamp and duration conversions of ``scheduler.api.convert``
agree with protobuf's own (``FromDatetime``, ``ToDatetime``, ``FromTimedelta``) over
their whole ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import given
from hypothesis import strategies as st

from scheduler.api.convert import dur, timestamp_from_pb, ts

AWARE = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)
).map(lambda d: d.replace(tzinfo=UTC))


@given(AWARE)
def test_ts_is_from_datetime(dt: datetime) -> None:
    ref = Timestamp()
    ref.FromDatetime(dt)
    assert ts(dt) == ref


@given(st.integers(-62_135_596_800, 253_402_300_799), st.integers(0, 999_999_999))
def test_timestamp_from_pb_is_to_datetime(seconds: int, nanos: int) -> None:
    t = Timestamp(seconds=seconds, nanos=nanos)
    assert timestamp_from_pb(t, "f") == t.ToDatetime(tzinfo=UTC)


@given(st.timedeltas(min_value=timedelta(days=-3_000_000), max_value=timedelta(days=3_000_000)))
def test_dur_is_from_timedelta(td: timedelta) -> None:
    ref = Duration()
    ref.FromTimedelta(td)
    assert dur(td) == ref
