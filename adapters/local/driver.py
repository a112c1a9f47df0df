"""A libcloud ``NodeDriver`` whose virtual machines are local process groups.

The local cloud lets the whole scheduler run on one machine (the demo, end-to-end
tests) through the same libcloud code path as EC2 or GCE. It behaves like a cloud
where it matters to the scheduler:

- a node boots its user data (``/bin/sh user-data.sh``) as the leader of a session
  of its own, so it survives the scheduler being SIGKILLed;
- a node stays RUNNING after its script exits, like a VM whose program ended, until
  it is destroyed or preempted; terminated nodes stay listed;
- ``create_node`` is idempotent per client token (as EC2's ``ClientToken``) and
  enforces a per-region vCPU quota;
- spot nodes get a preemption notice (SIGTERM to the group), then are reclaimed
  (SIGKILL) after a grace period, on a schedule or at random (``PreemptionPolicy``);
- all state lives under ``state_dir`` (see :mod:`adapters.local.state`), so a new
  driver instance, in this or another OS process, sees and can terminate the nodes
  of an old one;
- ``ex_usage()`` is the usage: who ran what, when, at which list price;
  ``ex_write_bill()`` writes the bill, a FOCUS 1.2 CSV with one row per node-hour at
  the true price (``LocalCloudConfig.billing``, see :mod:`adapters.local.billing`).

Timed work (SIGKILL after a grace period, scheduled and random preemptions,
recovering launches whose launcher died) is persisted as deadlines in the node
records and carried out by the monitor thread of any driver over the state dir
(``start()``), so it survives restarts. Linux only (``/proc``).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.types import NodeState

from adapters.local import lifecycle, process
from adapters.local.billing import LocalBilling, bill_csv, focus_rows
from adapters.local.catalog import DEFAULT_REGIONS, InstanceType, build_catalog
from adapters.local.lifecycle import now_utc
from adapters.local.preemption import PreemptionPolicy, preempt_after_s
from adapters.local.state import (
    PENDING,
    RUNNING,
    TERMINATED,
    NodeRecord,
    StateDir,
    atomic_write,
)

IMAGE_ID = "local-python"
SPOT = "spot"
ON_DEMAND = "on-demand"
_STATES = {PENDING: NodeState.PENDING, RUNNING: NodeState.RUNNING}
_COUNTRIES = {"us": "US", "europe": "EU", "asia": "TW"}


class LocalCloudError(Exception):
    """An API error of the local cloud; ``code`` mimics EC2's error codes."""

    def __init__(self, message: str, *, code: str, limit: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit


@dataclass(frozen=True)
class LocalCloudConfig:
    state_dir: Path
    regions: tuple[str, ...] = DEFAULT_REGIONS
    vcpu_quota_per_region: float = 32
    #: Boot time: seconds between the launch request and the user data starting.
    launch_delay_s: float = 0.2
    #: Seconds between SIGTERM and SIGKILL when a node is destroyed.
    terminate_grace_s: float = 3.0
    preemption: PreemptionPolicy = field(default_factory=PreemptionPolicy)
    #: What the bill really charges (hidden from the catalog): default list price.
    billing: LocalBilling = field(default_factory=LocalBilling)


@dataclass(frozen=True)
class UsageRecord:
    """A node that ran (or still runs), at its list price."""

    node_id: str
    region: str
    zone: str
    instance_type: str
    market: str
    price_per_hour: Decimal
    started_at: datetime
    ended_at: datetime | None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _node_id(node_or_id: Node | str) -> str:
    return node_or_id if isinstance(node_or_id, str) else str(node_or_id.id)


def _node_id_for(token: str) -> str:
    # Deriving the id from the client token makes a second spawn impossible by
    # construction (same node dir) and makes seeded random preemption reproducible.
    return "ln-" + hashlib.sha256(token.encode()).hexdigest()[:12]


class LocalNodeDriver(NodeDriver):
    """See the module docstring. Thread-safe; one lock (thread + flock) guards state."""

    name = "skybatch local cloud"
    api_name = "local"
    website = "https://libcloud.apache.org/"
    features = {"create_node": []}  # noqa: RUF012  # libcloud declares it this way

    def __init__(self, config: LocalCloudConfig) -> None:
        # No super().__init__(): there is no API endpoint to connect to (libcloud's own
        # DummyNodeDriver does the same).
        self.config = config
        self._state = StateDir(config.state_dir)
        self._catalog: dict[tuple[str, str], InstanceType] = {
            (it.name, it.region): it for it in build_catalog(config.regions)
        }
        self._monitor = lifecycle.Monitor(self._state, notice_grace_s=config.preemption.grace_s)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the monitor thread (preemptions, SIGKILL deadlines, reaping)."""
        self._monitor.start()

    def close(self) -> None:
        """Stop the monitor thread. Nodes keep running, as VMs outlive an API client."""
        self._monitor.close()

    def __enter__(self) -> LocalNodeDriver:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- catalog -----------------------------------------------------------------------

    def list_locations(self) -> list[NodeLocation]:
        return [
            NodeLocation(
                id=region,
                name=region,
                country=_COUNTRIES.get(region.split("-")[0], ""),
                driver=self,
                extra={"zones": [f"{region}-a"]},
            )
            for region in self.config.regions
        ]

    def list_sizes(self, location: NodeLocation | None = None) -> list[NodeSize]:
        regions = (location.id,) if location is not None else self.config.regions
        return [self._size(it) for it in self._catalog.values() if it.region in regions]

    def list_images(self, location: NodeLocation | None = None) -> list[NodeImage]:
        return [
            NodeImage(id=IMAGE_ID, name=IMAGE_ID, driver=self, extra={"python": sys.executable})
        ]

    def _size(self, it: InstanceType) -> NodeSize:
        return NodeSize(
            id=it.name,
            name=it.name,
            ram=int(it.memory_gib * 1024),
            disk=0,
            bandwidth=None,
            price=float(it.on_demand_price),  # libcloud's field is a float; extra has exact
            driver=self,
            extra={
                "vcpus": it.vcpus,
                "memory_gib": float(it.memory_gib),
                "gpu_count": it.gpu_count,
                "gpu_type": it.gpu_type,
                "price": str(it.on_demand_price),
                "spot_price": str(it.spot_price),
                "region": it.region,
                "zone": it.zone,
            },
        )

    # -- nodes -------------------------------------------------------------------------

    def create_node(
        self,
        name: str,
        size: NodeSize,
        image: NodeImage,
        location: NodeLocation | None = None,
        auth: Any = None,
        ex_userdata: str = "",
        ex_tags: Mapping[str, str] | None = None,
        ex_clienttoken: str = "",
        ex_spot: bool = False,
    ) -> Node:
        """Launch a node; with ``ex_clienttoken``, at most one per token, ever."""
        region = location.id if location is not None else str(size.extra.get("region", ""))
        it = self._catalog.get((size.id, region))
        if it is None:
            raise LocalCloudError(
                f"no instance type {size.id!r} in {region!r}", code="InvalidParameterValue"
            )
        if image.id != IMAGE_ID or auth is not None:
            raise LocalCloudError("only image local-python, no auth", code="InvalidParameterValue")
        market = SPOT if ex_spot else ON_DEMAND
        with self._state.locked():
            node_id = _node_id_for(ex_clienttoken) if ex_clienttoken else self._fresh_node_id()
            existing = self._state.read(node_id)
            if existing is not None:
                asked = (it.name, region, market)
                if (existing.instance_type, existing.region, existing.market) != asked:
                    raise LocalCloudError(
                        f"client token {ex_clienttoken!r} was used for another request",
                        code="IdempotentParameterMismatch",
                    )
                return self._to_node(existing)
            self._check_quota(region, it.vcpus)
            spot_seq = self._state.next_spot_seq() if ex_spot else None
            launcher_pid = os.getpid()
            record = NodeRecord(
                node_id=node_id,
                name=name,
                client_token=ex_clienttoken,
                region=region,
                zone=it.zone,
                instance_type=it.name,
                market=market,
                vcpus=it.vcpus,
                memory_gib=float(it.memory_gib),
                price_per_hour=it.spot_price if ex_spot else it.on_demand_price,
                tags=dict(ex_tags or {}),
                status=PENDING,
                created_at=now_utc(),
                launcher_pid=launcher_pid,
                launcher_start_time=process.proc_start_time(launcher_pid),
                spot_seq=spot_seq,
                preempt_after_s=(
                    preempt_after_s(self.config.preemption, node_id, spot_seq, region)
                    if spot_seq is not None
                    else None
                ),
            )
            # Durable before anything runs: a crash from here on leaves a record that
            # the monitor recovers, never an unrecorded process.
            self._state.write(record)
        time.sleep(self.config.launch_delay_s)  # boot time, outside the lock
        with self._state.locked():
            current = self._state.read(node_id)
            if current is None or current.status != PENDING:
                return self._to_node(current or record)  # destroyed while booting
            return self._to_node(self._boot(current, ex_userdata))

    def _fresh_node_id(self) -> str:
        while True:
            node_id = "ln-" + secrets.token_hex(6)
            if not self._state.node_dir(node_id).exists():
                return node_id

    def _check_quota(self, region: str, vcpus: float) -> None:
        held = sum(
            r.vcpus for r in self._state.read_all() if r.region == region and r.status != TERMINATED
        )
        limit = self.config.vcpu_quota_per_region
        if held + vcpus > limit:
            raise LocalCloudError(
                f"vCPU quota of {limit:g} in {region} exceeded: {held:g} held, {vcpus:g} asked",
                code="VcpuLimitExceeded",
                limit=limit,
            )

    def _boot(self, record: NodeRecord, user_data: str) -> NodeRecord:
        node_dir = self._state.node_dir(record.node_id)
        (node_dir / "user-data.sh").write_text(user_data, encoding="utf-8")
        env = {
            **os.environ,
            "SKYBATCH_NODE_ID": record.node_id,
            "SKYBATCH_NODE_DIR": str(node_dir),
            "SKYBATCH_REGION": record.region,
            "SKYBATCH_ZONE": record.zone,
            "SKYBATCH_INSTANCE_TYPE": record.instance_type,
            "SKYBATCH_MARKET": record.market,
        }
        try:
            pid, start_time = process.spawn_session(
                ["/bin/sh", "user-data.sh"],
                cwd=node_dir,
                env=env,
                log_path=node_dir / "console.log",
            )
        except OSError as exc:
            now, error = now_utc(), f"boot failed: {exc}"
            self._state.write(
                replace(record, status=TERMINATED, terminated_at=now, reaped=True, error=error)
            )
            raise LocalCloudError(
                f"node {record.node_id} failed to boot: {exc}", code="InternalError"
            ) from exc
        record = lifecycle.running(record, pid, start_time, now_utc())
        self._state.write(record)
        return record

    def list_nodes(self, ex_filters: Mapping[str, str] | None = None) -> list[Node]:
        """All nodes, terminated ones included, optionally only those with all tags."""
        wanted = dict(ex_filters or {})
        return [
            self._to_node(r)
            for r in self._state.read_all()
            if all(r.tags.get(k) == v for k, v in wanted.items())
        ]

    def destroy_node(self, node: Node) -> bool:
        """Terminate: durable at once, SIGTERM now, SIGKILL after the grace period."""
        node_id = _node_id(node)
        with self._state.locked():
            record = self._state.read(node_id)
            if record is None or record.status == TERMINATED:
                return True
            ended = lifecycle.terminating(record, now_utc(), self.config.terminate_grace_s)
            lifecycle.commit(self._state, record, ended, signal.SIGTERM)
            record = ended
        if record.kill_after is not None and not record.reaped:
            self._monitor.finish_later(
                node_id, record.kill_after, until=lambda: not self.ex_node_alive(node_id)
            )
        return True

    def ex_preempt_node(self, node_or_id: Node | str, grace_s: float | None = None) -> None:
        """Reclaim a spot node as the cloud would: notice (SIGTERM), grace, SIGKILL."""
        node_id = _node_id(node_or_id)
        grace = self.config.preemption.grace_s if grace_s is None else grace_s
        with self._state.locked():
            record = self._state.read(node_id)
            if record is None:
                raise LocalCloudError(f"no node {node_id}", code="InvalidInstanceID.NotFound")
            if record.market != SPOT:
                raise LocalCloudError(f"{node_id} is not a spot node", code="UnsupportedOperation")
            if record.status == TERMINATED or record.reclaim_at is not None:
                return
            if record.status == PENDING:  # not booted yet: nothing to give notice to
                lifecycle.commit(self._state, record, lifecycle.reclaimed(record, now_utc()), None)
                return
            noticed = lifecycle.noticed(record, now_utc(), grace)
            lifecycle.commit(self._state, record, noticed, signal.SIGTERM)
            record = noticed
        if record.reclaim_at is not None:
            self._monitor.finish_later(node_id, record.reclaim_at)

    def ex_node_alive(self, node_or_id: Node | str) -> bool:
        """Whether the node's process group still has a live process."""
        record = self._state.read(_node_id(node_or_id))
        if record is None or record.pid is None:
            return False
        return process.group_alive(record.pid, record.pid_start_time)

    def ex_usage(self) -> list[UsageRecord]:
        """Every node that started, with its list price and run interval."""
        return [
            UsageRecord(
                node_id=r.node_id,
                region=r.region,
                zone=r.zone,
                instance_type=r.instance_type,
                market=r.market,
                price_per_hour=r.price_per_hour,
                started_at=r.started_at,
                ended_at=r.terminated_at,
            )
            for r in self._state.read_all()
            if r.started_at is not None
        ]

    def ex_write_bill(self, path: Path, *, until: datetime | None = None) -> int:
        """Write the FOCUS 1.2 bill of every node-hour up to ``until`` (default: now)
        to ``path`` as CSV, atomically; return the number of rows.

        Rows are sorted, so the same state and ``until`` give the same file.
        """
        rows = focus_rows(
            self._state.read_all(),
            until=until if until is not None else now_utc(),
            billing=self.config.billing,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, bill_csv(rows))
        return len(rows)

    # -- conversion --------------------------------------------------------------------

    def _to_node(self, r: NodeRecord) -> Node:
        it = self._catalog.get((r.instance_type, r.region))
        return Node(
            id=r.node_id,
            name=r.name,
            state=_STATES.get(r.status, NodeState.TERMINATED),
            public_ips=[],
            private_ips=["127.0.0.1"],
            driver=self,
            size=self._size(it) if it is not None else None,
            image=self.list_images()[0],
            created_at=r.created_at,
            extra={
                "tags": dict(r.tags),
                "client_token": r.client_token,
                "region": r.region,
                "zone": r.zone,
                "instance_type": r.instance_type,
                "market": r.market,
                "price": str(r.price_per_hour),
                "preempted": r.preempted,
                "created_at": r.created_at.isoformat(),
                "started_at": _iso(r.started_at),
                "terminated_at": _iso(r.terminated_at),
                "interruption_notice": r.reclaim_at is not None and r.status == RUNNING,
                "pid": r.pid,
                "node_dir": str(self._state.node_dir(r.node_id)),
                "error": r.error,
            },
        )
