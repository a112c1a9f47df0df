"""The simulated cloud keeps the port's contract on a virtual clock: idempotent launches,
quotas as a cloud enforces them, launch delays, capacity errors, and spot nodes taken
back when capacity goes (availability series), when their hazard lifetime runs out
(seeded) or on a schedule."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    CapacityError,
    CloudError,
    CloudPort,
    Market,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaError,
    QuotaLimit,
)
from adapters.sim import (
    AvailabilitySeries,
    PlannedPreemption,
    QuotaChange,
    SimCloud,
    SpotSupply,
    resolve,
)

T0 = datetime(2026, 1, 5, tzinfo=UTC)
OURS = {MANAGED_BY_TAG: MANAGED_BY_VALUE}


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> datetime:
        return self.t

    def at(self, seconds: float) -> None:
        self.t = T0 + timedelta(seconds=seconds)


def offering(market: Market = Market.ON_DEMAND, region: str = "r1", **kw: object) -> Offering:
    base: dict[str, object] = {
        "cloud": "sim",
        "region": region,
        "zone": f"{region}-a",
        "instance_type": "g1",
        "market": market,
        "vcpus": 8.0,
        "memory_gib": 32.0,
        "gpu_count": 1,
        "gpu_type": "V100",
        "price_per_hour": Decimal("3.06") if market is Market.ON_DEMAND else Decimal("0.92"),
        "preemption_hazard_per_hour": 0.0 if market is Market.ON_DEMAND else 0.01,
        "launch_delay_s": 90.0,
        "separate_spot_quota": True,
    }
    base.update(kw)
    return Offering(**base)  # type: ignore[arg-type]


OD, SPOT = offering(), offering(Market.SPOT)


def spec(off: Offering, name: str = "n") -> NodeSpec:
    return NodeSpec(off, name, "#!/bin/sh", {"skybatch-attempt": name})


def cloud(clock: Clock, **kw: object) -> SimCloud:
    return SimCloud("sim", [OD, SPOT], clock=clock, **kw)  # type: ignore[arg-type]


def test_is_a_cloud_port() -> None:
    assert isinstance(cloud(Clock()), CloudPort)


def test_launch_is_idempotent_per_token() -> None:
    clock = Clock()
    c = cloud(clock)
    first = c.launch(spec(OD), token="a-1")
    clock.at(5)
    again = c.launch(spec(OD), token="a-1")
    assert again.node_id == first.node_id
    assert len(c.list_nodes(OURS)) == 1
    assert first.client_token == "a-1" and first.tags[MANAGED_BY_TAG] == MANAGED_BY_VALUE
    with pytest.raises(CloudError) as err:
        c.launch(spec(SPOT), token="a-1")
    assert err.value.code == "IdempotentParameterMismatch"
    with pytest.raises(CloudError):
        c.launch(spec(OD), token="")


def test_node_is_pending_for_its_launch_delay_then_running() -> None:
    clock = Clock()
    c = cloud(clock, launch_delays={"sim/r1": 30.0})
    node = c.launch(spec(OD), token="a")
    assert node.status is NodeStatus.PENDING
    clock.at(29.9)
    assert c.list_nodes(OURS)[0].status is NodeStatus.PENDING
    clock.at(30)
    assert c.list_nodes(OURS)[0].status is NodeStatus.RUNNING


def test_quotas_are_enforced_with_the_limit_and_freed_on_terminate() -> None:
    clock = Clock()
    gpu_pool = "sim/r1/gpu:V100"
    c = cloud(clock, quotas=[QuotaLimit("sim/r1/vcpu", 64), QuotaLimit(gpu_pool, 2)])
    a = c.launch(spec(OD), token="a")
    c.launch(spec(OD), token="b")
    with pytest.raises(QuotaError) as err:
        c.launch(spec(OD), token="c")
    assert err.value.limit == 2
    assert "gpu" in str(err.value).lower(), "the launcher lowers the GPU pool on this message"
    # Spot draws from its own pools (separate_spot_quota), which are unlimited here.
    c.launch(spec(SPOT), token="s")
    c.terminate(a.node_id)
    c.terminate(a.node_id)  # idempotent
    c.terminate("no-such-node")  # silent
    c.launch(spec(OD), token="c")


def test_vcpu_quota_error_does_not_speak_of_gpus() -> None:
    c = cloud(Clock(), quotas=[QuotaLimit("sim/r1/vcpu", 8)])
    c.launch(spec(OD), token="a")
    with pytest.raises(QuotaError) as err:
        c.launch(spec(OD), token="b")
    assert err.value.limit == 8 and "gpu" not in str(err.value).lower()


def test_quota_changes_apply_from_their_time_and_spare_running_nodes() -> None:
    clock = Clock()
    pool = "sim/r1/gpu:V100"
    c = cloud(
        clock,
        quotas=[QuotaLimit(pool, 4)],
        quota_changes=[QuotaChange(T0 + timedelta(hours=1), pool, 1)],
    )
    c.launch(spec(OD), token="a")
    c.launch(spec(OD), token="b")
    assert {q.pool: q.capacity for q in c.quotas()} == {pool: 4}
    assert c.ex_next_change(T0) == T0 + timedelta(hours=1)
    clock.at(3600)
    assert {q.pool: q.capacity for q in c.quotas()} == {pool: 1}
    assert all(n.status is NodeStatus.RUNNING for n in c.list_nodes(OURS))
    with pytest.raises(QuotaError):
        c.launch(spec(OD), token="c")


def test_capacity_limit_raises_capacity_errors() -> None:
    c = cloud(Clock(), capacity={"*/*/*/*/on-demand": 1})
    c.launch(spec(OD), token="a")
    with pytest.raises(CapacityError):
        c.launch(spec(OD), token="b")
    c.launch(spec(SPOT), token="s")


def test_spot_follows_its_availability_series() -> None:
    clock = Clock()
    # 10-minute steps: there, there, gone, gone, there (then the last value holds).
    series = AvailabilitySeries(T0, 600.0, (True, True, False, False, True))
    c = cloud(clock, spot={"*/*/*/*/spot": SpotSupply(availability=series)}, notice_s=120)
    assert SPOT in c.list_offerings()
    node = c.launch(spec(SPOT), token="s")
    sim_node = c.ex_node(node.node_id)
    assert sim_node is not None
    assert sim_node.notice_at == T0.timestamp() + 1200
    assert sim_node.reclaim_at == T0.timestamp() + 1320
    clock.at(1200)
    # Unlisted while gone: the convention the policies rely on.
    assert SPOT not in c.list_offerings() and OD in c.list_offerings()
    assert c.list_nodes(OURS)[0].status is NodeStatus.RUNNING  # notice given, not yet gone
    with pytest.raises(CapacityError):
        c.launch(spec(SPOT), token="s2")
    clock.at(1320)
    [gone] = c.list_nodes(OURS)
    assert gone.status is NodeStatus.TERMINATED and gone.preempted
    clock.at(2400)
    assert SPOT in c.list_offerings()
    c.launch(spec(SPOT), token="s3")


def test_a_node_we_terminate_is_not_preempted() -> None:
    clock = Clock()
    series = AvailabilitySeries(T0, 600.0, (True, False))
    c = cloud(clock, spot={"*": SpotSupply(availability=series)})
    node = c.launch(spec(SPOT), token="s")
    clock.at(100)
    c.terminate(node.node_id)
    clock.at(700)
    [listed] = c.list_nodes(OURS)
    assert listed.status is NodeStatus.TERMINATED and not listed.preempted


def test_terminated_nodes_stay_listed_for_a_while() -> None:
    clock = Clock()
    c = cloud(clock, terminated_visible_s=600)
    node = c.launch(spec(OD), token="a")
    c.terminate(node.node_id)
    clock.at(599)
    assert [n.status for n in c.list_nodes(OURS)] == [NodeStatus.TERMINATED]
    clock.at(600)
    assert c.list_nodes(OURS) == []


def notice_times(seed: int, n: int, hazard: float) -> list[float]:
    clock = Clock()
    c = cloud(clock, spot={"*": SpotSupply(hazard_per_hour=hazard)}, seed=seed)
    out = []
    for k in range(n):
        info = c.launch(spec(SPOT, f"s{k}"), token=f"t{k}")
        node = c.ex_node(info.node_id)
        assert node is not None and node.notice_at is not None
        out.append(node.notice_at - node.launched_at)
    return out


def test_hazard_preemption_is_seeded_and_exponential() -> None:
    first = notice_times(seed=7, n=400, hazard=2.0)
    assert notice_times(seed=7, n=400, hazard=2.0) == first
    assert notice_times(seed=8, n=400, hazard=2.0) != first
    # 400 exponential lifetimes of mean 1800 s: the sample mean is within 15% (~3 sigma).
    assert statistics.mean(first) == pytest.approx(1800, rel=0.15)


def test_hazard_preempts_a_running_node() -> None:
    clock = Clock()
    c = cloud(clock, spot={"*": SpotSupply(hazard_per_hour=1.0)}, seed=1)
    info = c.launch(spec(SPOT), token="s")
    node = c.ex_node(info.node_id)
    assert node is not None and node.notice_at is not None
    clock.at(node.notice_at - T0.timestamp() + 1)
    [listed] = c.list_nodes(OURS)
    assert listed.status is NodeStatus.TERMINATED and listed.preempted


def test_unconfigured_spot_offering_keeps_its_advertised_hazard() -> None:
    clock = Clock()
    c = cloud(clock, seed=3)
    node = c.ex_node(c.launch(spec(SPOT), token="s").node_id)
    assert node is not None and node.notice_at is not None  # hazard 0.01/h: far away
    assert c.ex_node(c.launch(spec(OD), token="o").node_id).notice_at is None  # type: ignore[union-attr]


def test_scheduled_preemption_of_the_nth_spot_launch() -> None:
    clock = Clock()
    c = cloud(
        clock, spot={"*": SpotSupply()}, schedule=[PlannedPreemption(2, after_s=60)], notice_s=5
    )
    first = c.ex_node(c.launch(spec(SPOT), token="s1").node_id)
    second = c.ex_node(c.launch(spec(SPOT), token="s2").node_id)
    assert first is not None and second is not None
    assert first.notice_at is None
    assert second.notice_at == second.ready_at + 60
    assert second.reclaim_at == second.ready_at + 65


def test_availability_series_repeats_and_bisects() -> None:
    s = AvailabilitySeries(T0, 10.0, (True, False, False, True), repeat=True)
    t0 = T0.timestamp()
    assert [s.available_at(t0 + x) for x in (0, 9.9, 10, 29.9, 30, 40, 55)] == [
        True,
        True,
        False,
        False,
        True,
        True,  # repeats: 40 is 0 into the next period
        False,
    ]
    assert s.next_change(t0) == t0 + 10
    assert s.next_change(t0 + 10) == t0 + 30
    assert s.next_change(t0 + 35) == t0 + 50  # 40 starts over with True: no flip there
    assert s.next_unavailable(t0 + 31) == t0 + 50
    assert s.next_unavailable(t0 + 15) == t0 + 15
    once = AvailabilitySeries(T0, 10.0, (True, False))
    assert once.next_change(t0 + 15) is None and not once.available_at(t0 + 1e6)
    assert AvailabilitySeries.always(T0).next_unavailable(t0) is None


def test_selectors_pick_the_most_specific_match() -> None:
    settings = {"*": 1.0, "sim": 2.0, "*/*/*/*/spot": 3.0, "sim/r1/r1-a/g1/spot": 4.0}
    assert resolve(settings, OD) == 2.0
    assert resolve(settings, SPOT) == 4.0
    assert resolve({"sim": 2.0, "*/*/*/*/spot": 3.0}, SPOT) == 3.0  # tie: the later one
    assert resolve({"other": 1.0}, OD) is None
    with pytest.raises(ValueError):
        SimCloud("sim", [OD], clock=Clock(), launch_delays={"a/b/c/d/e/f": 1.0})
    with pytest.raises(ValueError):
        SimCloud("other", [OD], clock=Clock())


def test_a_booting_node_is_taken_without_notice() -> None:
    clock = Clock()
    series = AvailabilitySeries(T0, 30.0, (True, False))  # gone after 30 s; boot takes 90
    c = cloud(clock, spot={"*": SpotSupply(availability=series)}, notice_s=120)
    node = c.ex_node(c.launch(spec(SPOT), token="s").node_id)
    assert node is not None and node.notice_at == node.reclaim_at == T0.timestamp() + 30
    clock.at(31)
    [listed] = c.list_nodes(OURS)
    assert listed.status is NodeStatus.TERMINATED and listed.preempted
