"""The explicit field limits of job specs (what the fuzzer taught us), each refused
with the field named; and the timestamp/duration ranges of the protobuf conversion."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from adapters.base import Market, Offering
from scheduler.api.convert import duration_from_pb, spec_from_pb, spec_to_pb, timestamp_from_pb
from scheduler.domain import JobSpec, Resources
from scheduler.errors import InvalidArgument, InvalidJobSpec
from scheduler.jobspec import MAX_COMMAND_BYTES, validate

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def offering() -> Offering:
    return Offering(
        cloud="local",
        region="us-central1",
        zone="us-central1-a",
        instance_type="n2-standard-4",
        market=Market.ON_DEMAND,
        vcpus=4,
        memory_gib=16,
        gpu_count=0,
        gpu_type="",
        price_per_hour=Decimal("0.2"),
        launch_delay_s=1.0,
    )


def spec(**kw: object) -> JobSpec:
    base = JobSpec(
        name="ok",
        command=("true",),
        estimated_runtime=timedelta(minutes=1),
        deadline=NOW + timedelta(hours=1),
        resources=Resources(vcpus=1, memory_gib=1),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def refused(s: JobSpec) -> InvalidJobSpec:
    with pytest.raises(InvalidJobSpec) as info:
        validate(s, now=NOW, offerings=[offering()])
    assert len(str(info.value)) < 300, "an error message must not echo a huge field"
    return info.value


def test_a_valid_spec_passes() -> None:
    assert validate(spec(), now=NOW, offerings=[offering()]).name == "ok"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "trailing-newline\n"}, "name"),
        ({"labels": {"team\n": "a"}}, "labels['team\\n']"),
        ({"labels": {"team": "a\n"}}, "labels['team']"),
        ({"labels": {"k" * 10_000: "v"}}, "labels["),
        ({"env": {"A\n": "x"}}, "env['A\\n']"),
        ({"env": {"X" * 1_000_000: "x"}}, "env["),
        ({"command": ("true", "a\x00b")}, "command[1]"),
        ({"command": ("true", *([""] * MAX_COMMAND_BYTES))}, "command"),
        ({"command": ("true", "x" * (10 * 1024 * 1024))}, "command"),
        ({"resources": Resources(1, 1, 0, "g" * 65)}, "resources.gpu_type"),
        ({"resources": Resources(1, 1, 0, "a\x00")}, "resources.gpu_type"),
        ({"resources": Resources(float("inf"), 1)}, "resources.vcpus"),
        ({"resources": Resources(-0.0, 1)}, "resources.vcpus"),
        ({"checkpoint_interval": timedelta(days=31)}, "checkpoint_interval"),
        ({"client_request_id": "with space"}, "client_request_id"),
        ({"client_request_id": "r\x00"}, "client_request_id"),
        ({"client_request_id": "r" * 129}, "client_request_id"),
        ({"allowed_clouds": ("local",) * 65}, "allowed_clouds"),
        ({"allowed_clouds": ("x" * 1_000_000,)}, "allowed_clouds[0]"),
        ({"allowed_regions": ("us-central1\n",)}, "allowed_regions[0]"),
        ({"deadline": datetime(9999, 12, 31, tzinfo=UTC)}, "deadline"),
        ({"deadline": datetime(1970, 1, 1, tzinfo=UTC)}, "deadline"),
        ({"estimated_runtime": timedelta(days=-1)}, "estimated_runtime"),
    ],
)
def test_each_limit_names_its_field(change: dict[str, object], field: str) -> None:
    assert refused(spec(**change)).field.startswith(field)


def test_a_default_name_starts_with_a_letter_or_digit() -> None:
    for program in ("-x", "__init__", ".hidden", "/usr/bin/-"):
        named = validate(spec(name="", command=(program,)), now=NOW, offerings=[offering()])
        assert named.name[0].isalnum(), named.name


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (-62_135_596_801, 0),  # before 0001-01-01
        (253_402_300_800, 0),  # after 9999-12-31
        (2**63 - 1, 0),
        (0, -1),
        (0, 1_000_000_000),
    ],
)
def test_timestamps_outside_the_protobuf_range_are_invalid(seconds: int, nanos: int) -> None:
    with pytest.raises(InvalidArgument) as info:
        timestamp_from_pb(Timestamp(seconds=seconds, nanos=nanos), "spec.deadline")
    assert info.value.field == "spec.deadline"


def test_timestamps_at_the_ends_of_the_range_convert() -> None:
    assert timestamp_from_pb(Timestamp(seconds=-62_135_596_800), "t").year == 1
    assert timestamp_from_pb(Timestamp(seconds=253_402_300_799), "t").year == 9999
    assert timestamp_from_pb(Timestamp(seconds=0), "t") == datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [(315_576_000_001, 0), (-(2**63), 0), (1, -1), (-1, 1), (0, 1_000_000_000)],
)
def test_durations_outside_the_protobuf_range_are_invalid(seconds: int, nanos: int) -> None:
    with pytest.raises(InvalidArgument):
        duration_from_pb(Duration(seconds=seconds, nanos=nanos), "d")


def test_spec_from_pb_names_the_bad_duration() -> None:
    m = spec_to_pb(spec())
    m.checkpoint_interval.seconds = 2**62
    with pytest.raises(InvalidJobSpec) as info:
        spec_from_pb(m)
    assert info.value.field == "spec.checkpoint_interval"
    m = spec_to_pb(spec())
    m.deadline.nanos = -5
    with pytest.raises(InvalidJobSpec) as info:
        spec_from_pb(m, "specs[3]")
    assert info.value.field == "specs[3].deadline"
