"""Job YAML parsing: SkyPilot-style fields, durations, deadlines, errors with paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import pytest

from scheduler.errors import InvalidJobSpec
from scheduler.jobyaml import load_jobs, parse_duration

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_one_job_with_skypilot_style_resources() -> None:
    [spec] = load_jobs(
        """
name: train
labels: {team: ml}
resources: {cpus: 4+, memory: 16, accelerators: "V100:2", use_spot: true,
            cloud: local, region: [us-central1, europe-west4]}
run: python train.py --epochs 3 "a b"
envs: {LR: 0.1}
estimated_runtime: 1h30m
deadline: +6h
checkpoint_interval: 5m
request_id: r-1
""",
        now=NOW,
    )
    assert spec.command == ("python", "train.py", "--epochs", "3", "a b")
    assert spec.resources.vcpus == 4 and spec.resources.memory_gib == 16
    assert (spec.resources.gpu_type, spec.resources.gpu_count) == ("V100", 2)
    assert spec.spot_allowed and spec.allowed_clouds == ("local",)
    assert spec.allowed_regions == ("us-central1", "europe-west4")
    assert spec.env == {"LR": "0.1"} and spec.labels == {"team": "ml"}
    assert spec.estimated_runtime == timedelta(minutes=90)
    assert spec.deadline == NOW + timedelta(hours=6)
    assert spec.checkpoint_interval == timedelta(minutes=5)
    assert spec.client_request_id == "r-1"


def test_absolute_deadline_and_command_list() -> None:
    [spec] = load_jobs(
        "command: [echo, hi]\nestimated_runtime: 60\ndeadline: 2026-11-27T00:00:00Z\n", now=NOW
    )
    assert spec.command == ("echo", "hi")
    assert spec.deadline == datetime(2026, 11, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("run: x\ndeadline: +1h\n", "estimated_runtime"),
        ("run: x\nestimated_runtime: 1h\n", "deadline"),
        ("run: x\nestimated_runtime: soon\ndeadline: +1h\n", "estimated_runtime"),
        ("run: x\nestimated_runtime: 1h\ndeadline: 2026-11-27T00:00:00\n", "deadline"),
        (
            "run: x\nestimated_runtime: 1h\ndeadline: +1h\nresources: {cpus: many}\n",
            "resources.cpus",
        ),
        ("run: x\nestimated_runtime: 1h\ndeadline: +1h\nresources: {disk: 5}\n", "resources.disk"),
        ("run: x\nestimated_runtime: 1h\ndeadline: +1h\nretries: 3\n", "retries"),
        ("run: 'unterminated\nestimated_runtime: 1h\ndeadline: +1h\n", "yaml"),
        ("", "yaml"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(InvalidJobSpec) as info:
        load_jobs(text, now=NOW)
    assert info.value.field == field


def test_errors_in_a_list_carry_the_index() -> None:
    text = "jobs:\n- {run: a, estimated_runtime: 1m, deadline: +1h}\n- {run: b, deadline: +1h}\n"
    with pytest.raises(InvalidJobSpec) as info:
        load_jobs(text, now=NOW)
    assert info.value.field == "jobs[1].estimated_runtime"


def test_durations() -> None:
    assert parse_duration("f", "1h30m") == timedelta(minutes=90)
    assert parse_duration("f", 45) == timedelta(seconds=45)
    assert parse_duration("f", "2d") == timedelta(days=2)
    with pytest.raises(InvalidJobSpec):
        parse_duration("f", "5 minutes")


def test_the_demo_file_parses() -> None:
    text = resources.files("scheduler.cli").joinpath("demo_jobs.yaml").read_text()
    specs = load_jobs(text, now=NOW)
    assert len(specs) == 5 and any(s.spot_allowed for s in specs)
