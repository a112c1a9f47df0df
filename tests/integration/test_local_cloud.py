"""The local cloud end to end through the generic libcloud port: real processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pytest
from libcloud.compute.base import Node

import adapters
from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    Market,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    QuotaError,
    QuotaLimit,
)
from adapters.libcloud_compute import LibcloudCloud
from adapters.local import (
    LocalCloudConfig,
    LocalCloudError,
    LocalNodeDriver,
    PreemptionPolicy,
    ScheduledPreemption,
    make_local_cloud,
)
from adapters.local.preemption import random_lifetime_s
from adapters.local.process import group_alive, reap_children

REPO_ROOT = Path(adapters.__file__).resolve().parent.parent
SLEEPER = "echo hi; sleep 30"
#: Survives SIGTERM (noting it in a file) until SIGKILL.
STUBBORN = textwrap.dedent(
    """\
    trap 'echo term >> got-term' TERM
    while :; do sleep 0.05; done
    """
)


class MakeCloud(Protocol):
    def __call__(
        self, state: str = ..., **overrides: Any
    ) -> tuple[LocalNodeDriver, LibcloudCloud]: ...


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(0.02)


def _kill_everything(state_dir: Path) -> None:
    """Last-resort teardown: no test leaves a process behind, whatever happened."""
    if not (state_dir / "nodes").exists():
        return
    driver = LocalNodeDriver(LocalCloudConfig(state_dir=state_dir, terminate_grace_s=0.0))
    nodes = driver.list_nodes()
    for node in nodes:
        driver.destroy_node(node)
    for node in nodes:
        pid = node.extra["pid"]
        if pid is not None and driver.ex_node_alive(node):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    for node in nodes:
        wait_for(lambda n=node: not driver.ex_node_alive(n), timeout=5)
    reap_children()


@pytest.fixture
def make_cloud(tmp_path: Path) -> Iterator[MakeCloud]:
    drivers: list[LocalNodeDriver] = []
    state_dirs: set[Path] = set()

    def make(state: str = "cloud", **overrides: Any) -> tuple[LocalNodeDriver, LibcloudCloud]:
        settings: dict[str, Any] = {
            "launch_delay_s": 0.05,
            "terminate_grace_s": 1.0,
            "vcpu_quota_per_region": 8,
        }
        settings.update(overrides)
        config = LocalCloudConfig(state_dir=tmp_path / state, **settings)
        driver, cloud = make_local_cloud(config)
        drivers.append(driver)
        state_dirs.add(config.state_dir)
        return driver, cloud

    yield make
    for driver in drivers:
        driver.close()
    for state_dir in state_dirs:
        _kill_everything(state_dir)


def spec(
    cloud: LibcloudCloud,
    *,
    script: str = SLEEPER,
    instance_type: str = "n2-standard-2",
    region: str = "us-central1",
    market: Market = Market.ON_DEMAND,
    tags: dict[str, str] | None = None,
) -> NodeSpec:
    (offering,) = [
        o
        for o in cloud.list_offerings()
        if (o.instance_type, o.region, o.market) == (instance_type, region, market)
    ]
    return NodeSpec(offering=offering, name="worker", user_data=script, tags=tags or {})


def raw_node(driver: LocalNodeDriver, node_id: str) -> Node:
    (node,) = [n for n in driver.list_nodes() if n.id == node_id]
    return node


def node_info(cloud: LibcloudCloud, node_id: str) -> NodeInfo:
    (info,) = [i for i in cloud.list_nodes({}) if i.node_id == node_id]
    return info


def console(driver: LocalNodeDriver, node_id: str) -> str:
    return (Path(raw_node(driver, node_id).extra["node_dir"]) / "console.log").read_text()


def test_offerings_and_quotas(make_cloud: MakeCloud) -> None:
    _, cloud = make_cloud()
    offerings = cloud.list_offerings()
    assert len(offerings) == 7 * 3 * 2  # shapes x regions x markets
    spot = [o for o in offerings if o.market == Market.SPOT]
    on_demand = {(o.region, o.instance_type): o for o in offerings if o.market == Market.ON_DEMAND}
    for o in spot:
        assert o.cloud == "local" and o.zone == f"{o.region}-a"
        assert o.preemption_hazard_per_hour == 0.1
        assert o.launch_delay_s == pytest.approx(2.05)
        assert isinstance(o.price_per_hour, Decimal)
        assert o.price_per_hour < on_demand[(o.region, o.instance_type)].price_per_hour
    assert all(o.preemption_hazard_per_hour == 0 for o in on_demand.values())
    assert set(cloud.quotas()) == {
        QuotaLimit(f"local/{region}/vcpu", 8)
        for region in ("us-central1", "europe-west4", "asia-east1")
    }


def test_launch_boots_user_data_as_its_own_process_group(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    script = 'echo hi; echo "env $SKYBATCH_INSTANCE_TYPE $SKYBATCH_MARKET"; sleep 30'
    info = cloud.launch(spec(cloud, script=script, tags={"job": "j1"}), token="j1/a1")
    assert info.status == NodeStatus.RUNNING
    assert info.node_id.startswith("ln-") and len(info.node_id) == 15
    assert info.market == Market.ON_DEMAND and info.client_token == "j1/a1"
    assert info.tags == {MANAGED_BY_TAG: MANAGED_BY_VALUE, "job": "j1"}
    assert driver.ex_node_alive(info.node_id)
    pid = raw_node(driver, info.node_id).extra["pid"]
    assert os.getpgid(pid) == pid and os.getsid(pid) == pid
    wait_for(lambda: "env n2-standard-2 on-demand" in console(driver, info.node_id))


def test_node_stays_running_after_its_script_exits(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    info = cloud.launch(spec(cloud, script="echo done"), token="short")
    wait_for(lambda: not driver.ex_node_alive(info.node_id))
    time.sleep(0.2)
    assert node_info(cloud, info.node_id).status == NodeStatus.RUNNING


def test_launch_is_idempotent_per_token(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    first = cloud.launch(spec(cloud), token="j2/a1")
    again = cloud.launch(spec(cloud), token="j2/a1")
    assert again.node_id == first.node_id
    # The driver itself is idempotent too, even racing with itself.
    node_spec = spec(cloud)
    results: list[NodeInfo] = []
    threads = [
        threading.Thread(target=lambda: results.append(cloud.launch(node_spec, token="race")))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.node_id for r in results}) == 1
    assert len(cloud.list_nodes({})) == 2
    time.sleep(0.2)
    assert console(driver, first.node_id).count("hi") == 1
    assert console(driver, results[0].node_id).count("hi") == 1


def test_list_nodes_by_tags(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    a = cloud.launch(spec(cloud, tags={"job": "a", "team": "x"}), token="a")
    b = cloud.launch(spec(cloud, tags={"job": "b", "team": "x"}), token="b")
    size = next(s for s in driver.list_sizes() if s.id == "e2-standard-2")
    foreign = driver.create_node("not-ours", size, driver.list_images()[0], ex_userdata="sleep 30")
    assert [i.node_id for i in cloud.list_nodes({"job": "a"})] == [a.node_id]
    assert {i.node_id for i in cloud.list_nodes({"team": "x"})} == {a.node_id, b.node_id}
    assert {i.node_id for i in cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE})} == {
        a.node_id,
        b.node_id,
    }
    assert cloud.list_nodes({"job": "a", "team": "y"}) == []
    assert len(driver.list_nodes()) == 3
    # Not launched by skybatch, so the port will not touch it.
    cloud.terminate(str(foreign.id))
    assert raw_node(driver, str(foreign.id)).state == "running"


def test_driver_rejects_unknown_sizes_and_reused_tokens(make_cloud: MakeCloud) -> None:
    driver, _ = make_cloud()
    image = driver.list_images()[0]
    (size,) = [
        s
        for s in driver.list_sizes()
        if s.id == "n2-standard-2" and s.extra["region"] == "asia-east1"
    ]
    assert size.extra["spot_price"] < size.extra["price"] and size.price > 0
    (europe,) = [loc for loc in driver.list_locations() if loc.id == "europe-west4"]
    bogus = [
        (size, "mars-north1"),
        (type(size)("x9-huge", "x9-huge", 1, 0, None, 1.0, driver), None),
    ]
    for bad_size, region in bogus:
        with pytest.raises(LocalCloudError) as raised:
            location = europe if region is None else type(europe)(region, region, "", driver)
            driver.create_node("w", bad_size, image, location, ex_userdata="true")
        assert raised.value.code == "InvalidParameterValue"
    driver.create_node("w", size, image, None, ex_userdata="true", ex_clienttoken="tok")
    with pytest.raises(LocalCloudError) as raised:
        driver.create_node("w", size, image, europe, ex_userdata="true", ex_clienttoken="tok")
    assert raised.value.code == "IdempotentParameterMismatch"
    assert len(driver.list_nodes()) == 1


def test_terminate_stops_the_group_and_is_idempotent(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    info = cloud.launch(spec(cloud), token="t")
    started = time.monotonic()
    cloud.terminate(info.node_id)
    assert time.monotonic() - started < 0.5  # SIGKILL waits in the background
    assert node_info(cloud, info.node_id).status == NodeStatus.TERMINATED
    wait_for(lambda: not driver.ex_node_alive(info.node_id), timeout=1.0)
    cloud.terminate(info.node_id)
    cloud.terminate("ln-000000000000")
    assert node_info(cloud, info.node_id).status == NodeStatus.TERMINATED


def test_terminate_kills_a_node_that_ignores_sigterm_after_the_grace(
    make_cloud: MakeCloud,
) -> None:
    driver, cloud = make_cloud(terminate_grace_s=0.5)
    info = cloud.launch(spec(cloud, script="trap '' TERM; sleep 30"), token="deaf")
    cloud.terminate(info.node_id)
    time.sleep(0.25)
    assert driver.ex_node_alive(info.node_id)
    wait_for(lambda: not driver.ex_node_alive(info.node_id), timeout=1.5)


def test_vcpu_quota_is_enforced_per_region(make_cloud: MakeCloud) -> None:
    _, cloud = make_cloud()
    big = spec(cloud, instance_type="n2-standard-4")
    first = cloud.launch(big, token="q1")
    cloud.launch(big, token="q2")
    with pytest.raises(QuotaError) as raised:
        cloud.launch(spec(cloud), token="q3")
    assert raised.value.code == "VcpuLimitExceeded" and raised.value.limit == 8
    cloud.launch(spec(cloud, region="europe-west4"), token="q4")
    cloud.terminate(first.node_id)
    cloud.launch(spec(cloud), token="q3")


def test_scheduled_preemption_sends_a_notice_then_reclaims(make_cloud: MakeCloud) -> None:
    policy = PreemptionPolicy(grace_s=0.5, schedule=(ScheduledPreemption(1, 0.5),))
    driver, cloud = make_cloud(preemption=policy)
    on_demand = cloud.launch(spec(cloud, script=STUBBORN), token="od")
    first = cloud.launch(spec(cloud, script=STUBBORN, market=Market.SPOT), token="s1")
    second = cloud.launch(spec(cloud, script=STUBBORN, market=Market.SPOT), token="s2")
    got_term = Path(raw_node(driver, first.node_id).extra["node_dir"]) / "got-term"

    wait_for(got_term.exists, timeout=2.0)
    # The notice: the script got SIGTERM, survived it, and the node still runs.
    noticed = raw_node(driver, first.node_id)
    assert noticed.extra["interruption_notice"] is True
    assert node_info(cloud, first.node_id).status == NodeStatus.RUNNING
    assert driver.ex_node_alive(first.node_id)

    wait_for(lambda: node_info(cloud, first.node_id).status == NodeStatus.TERMINATED, 2.0)
    assert node_info(cloud, first.node_id).preempted
    wait_for(lambda: not driver.ex_node_alive(first.node_id), timeout=1.0)
    extra = raw_node(driver, first.node_id).extra
    lived = datetime.fromisoformat(extra["terminated_at"]) - datetime.fromisoformat(
        extra["started_at"]
    )
    assert lived.total_seconds() >= 0.9  # 0.5 s to the notice + 0.5 s of grace

    # Only the first spot launch was scheduled; on-demand is never preempted.
    for other in (on_demand, second):
        assert node_info(cloud, other.node_id).status == NodeStatus.RUNNING
        assert driver.ex_node_alive(other.node_id)
    with pytest.raises(LocalCloudError) as raised:
        driver.ex_preempt_node(on_demand.node_id)
    assert raised.value.code == "UnsupportedOperation"


def test_manual_preemption(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    info = cloud.launch(spec(cloud, script=STUBBORN, market=Market.SPOT), token="m")
    driver.ex_preempt_node(info.node_id, grace_s=0.2)
    wait_for(lambda: node_info(cloud, info.node_id).preempted, timeout=2.0)
    assert node_info(cloud, info.node_id).status == NodeStatus.TERMINATED
    wait_for(lambda: not driver.ex_node_alive(info.node_id), timeout=1.0)
    driver.ex_preempt_node(info.node_id)  # already reclaimed: nothing to do


def test_seeded_random_preemption_is_reproducible(make_cloud: MakeCloud) -> None:
    # 1 preemption per simulated hour at 10800x: mean lifetime 1/3 s of real time.
    policy = PreemptionPolicy(grace_s=0.1, hazard_per_hour=1.0, time_scale=10800.0, seed=7)
    lifetimes = []
    for state in ("run-1", "run-2"):
        driver, cloud = make_cloud(state, preemption=policy)
        info = cloud.launch(spec(cloud, script=STUBBORN, market=Market.SPOT), token="job/1")
        expected = random_lifetime_s(policy, info.node_id)
        assert expected is not None
        wait_for(lambda c=cloud, n=info.node_id: node_info(c, n).preempted, timeout=expected + 3)
        extra = raw_node(driver, info.node_id).extra
        lived = datetime.fromisoformat(extra["terminated_at"]) - datetime.fromisoformat(
            extra["started_at"]
        )
        assert expected + 0.1 <= lived.total_seconds() <= expected + 0.1 + 0.6
        lifetimes.append((info.node_id, expected))
    assert lifetimes[0] == lifetimes[1]
    other_seed = PreemptionPolicy(hazard_per_hour=1.0, time_scale=10800.0, seed=8)
    assert random_lifetime_s(other_seed, lifetimes[0][0]) != lifetimes[0][1]


def _run_and_sigkill(state_dir: Path, body: str, launch_delay_s: float = 0.05) -> str:
    """Run a scheduler-like process that uses the local cloud, then SIGKILLs itself."""
    program = textwrap.dedent(
        f"""\
        import os, signal, sys
        from pathlib import Path
        from adapters.base import Market, NodeSpec
        from adapters.local import LocalCloudConfig, make_local_cloud

        state_dir = Path({str(state_dir)!r})
        config = LocalCloudConfig(state_dir=state_dir, launch_delay_s={launch_delay_s})
        driver, cloud = make_local_cloud(config)
        offering = next(o for o in cloud.list_offerings() if o.market == Market.ON_DEMAND)
        """
    ) + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    return done.stdout.strip()


def test_a_restarted_scheduler_sees_and_terminates_old_nodes(
    make_cloud: MakeCloud, tmp_path: Path
) -> None:
    node_id = _run_and_sigkill(
        tmp_path / "cloud",
        """\
        info = cloud.launch(NodeSpec(offering, "w", "sleep 30"), token="before-crash")
        print(info.node_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
    )
    driver, cloud = make_cloud()
    assert driver.ex_node_alive(node_id)  # the node outlived its launcher
    info = node_info(cloud, node_id)
    assert info.status == NodeStatus.RUNNING and info.client_token == "before-crash"
    assert cloud.launch(spec(cloud), token="before-crash").node_id == node_id
    cloud.terminate(node_id)
    wait_for(lambda: not driver.ex_node_alive(node_id), timeout=2.0)
    assert node_info(cloud, node_id).status == NodeStatus.TERMINATED


def test_a_launch_cut_short_by_a_crash_fails_cleanly(make_cloud: MakeCloud, tmp_path: Path) -> None:
    state_dir = tmp_path / "cloud"
    _run_and_sigkill(
        state_dir,
        """\
        import threading, time
        def crash_soon():
            while not list((config.state_dir / "nodes").glob("*/node.json")):
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGKILL)  # during the 5 s boot
        threading.Thread(target=crash_soon, daemon=True).start()
        cloud.launch(NodeSpec(offering, "w", "sleep 30"), token="mid-launch")
        """,
        launch_delay_s=5.0,
    )
    driver, cloud = make_cloud()
    (node,) = driver.list_nodes()
    node_id = str(node.id)
    wait_for(lambda: node_info(cloud, node_id).status == NodeStatus.TERMINATED, timeout=2.0)
    assert raw_node(driver, node_id).extra["error"] == "launch interrupted"
    assert not driver.ex_node_alive(node_id)


def test_usage_is_the_bill(make_cloud: MakeCloud) -> None:
    driver, cloud = make_cloud()
    node_spec = spec(cloud, market=Market.SPOT)
    info = cloud.launch(node_spec, token="u")
    cloud.terminate(info.node_id)
    (usage,) = driver.ex_usage()
    assert usage.node_id == info.node_id and usage.market == "spot"
    assert usage.price_per_hour == node_spec.offering.price_per_hour
    assert usage.ended_at is not None and usage.started_at <= usage.ended_at
    assert usage.started_at.utcoffset() is not None


def test_pid_reuse_is_not_mistaken_for_the_node(make_cloud: MakeCloud) -> None:
    me = os.getpid()
    assert group_alive(os.getpgid(me), None)
    # A wrong start time means the pid now names another process: the group is gone.
    assert not group_alive(me, start_time=1)
