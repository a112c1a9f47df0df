"""``Placements``: validation's per-shape memo of the offerings gives the answers a
fresh scan gives, errors included, and follows a changed catalog listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from scheduler.domain import Resources
from scheduler.errors import InvalidJobSpec
from scheduler.jobspec import Placements, validate
from tests.unit.scheduler.test_jobspec_limits import NOW, offering, spec


def test_memo_answers_like_a_fresh_scan_for_fitting_and_unfitting_shapes() -> None:
    offs = [offering(), replace(offering(), instance_type="n2-standard-8", vcpus=8, memory_gib=32)]
    placements = Placements(offs)
    for vcpus in (1, 4, 8, 16, 1, 8, 16):
        s = spec(resources=Resources(vcpus=vcpus, memory_gib=1))
        try:
            fresh: object = validate(s, now=NOW, offerings=offs)
        except InvalidJobSpec as exc:
            fresh = (exc.field, exc.problem)
        try:
            memo: object = validate(s, now=NOW, offerings=placements)
        except InvalidJobSpec as exc:
            memo = (exc.field, exc.problem)
        assert memo == fresh
    with pytest.raises(InvalidJobSpec, match="no offering has 16 vCPUs"):
        validate(spec(resources=Resources(vcpus=16, memory_gib=1)), now=NOW, offerings=placements)


def test_the_deadline_is_checked_per_job_with_the_shape_s_fastest_launch() -> None:
    placements = Placements([replace(offering(), launch_delay_s=600.0)])
    ok = spec(estimated_runtime=timedelta(minutes=10), deadline=NOW + timedelta(minutes=30))
    validate(ok, now=NOW, offerings=placements)
    tight = replace(ok, deadline=NOW + timedelta(minutes=15))
    with pytest.raises(InvalidJobSpec, match="deadline"):
        validate(tight, now=NOW, offerings=placements)


def test_current_keeps_the_index_for_the_same_listing_and_rebuilds_for_a_new_one() -> None:
    offs = [offering()]
    placements = Placements(offs)
    assert placements.current(list(offs)) is placements
    bigger = [replace(offering(), vcpus=64, memory_gib=256)]
    rebuilt = placements.current(bigger)
    assert rebuilt is not placements
    validate(spec(resources=Resources(vcpus=32, memory_gib=1)), now=NOW, offerings=rebuilt)
    with pytest.raises(InvalidJobSpec):
        validate(spec(resources=Resources(vcpus=32, memory_gib=1)), now=NOW, offerings=placements)
