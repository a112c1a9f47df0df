"""The simulated cloud: a :class:`~adapters.base.CloudPort` over a virtual clock.

It sells given :class:`~adapters.base.Offering`\\ s (from real price lists, or the local
cloud's catalog for validation) and behaves like a real cloud where the control loop
can tell:

- ``launch`` is idempotent per token (EC2's ``ClientToken``): the same token returns
  the same node, never a second one; the same token for another offering is refused;
- quotas are enforced at launch as clouds do: a node holds its offering's
  ``quota_draw`` from launch until it is terminated or reclaimed; a launch that would
  exceed a pool raises :class:`~adapters.base.QuotaError` carrying the pool's limit
  (its message names GPUs for a GPU pool, as EC2's and GCE's do, so the launcher lowers
  the right pool). Quotas can change over time (:class:`QuotaChange`); nodes already
  running stay when a quota drops;
- a node is PENDING for its launch delay, then RUNNING;
- capacity: at most ``capacity`` nodes of an offering at once, and no spot node of an
  offering while its spot capacity is gone (:class:`~adapters.sim.spot.SpotSupply`);
  either raises :class:`~adapters.base.CapacityError`;
- a spot node is taken back when its offering's capacity goes, when its hazard
  lifetime runs out, or on a schedule: the cloud gives notice at ``notice_at`` and the
  node is TERMINATED with ``preempted=True`` ``notice_s`` later (EC2 gives 120 s, GCE
  30 s), at once while it is still booting; terminated nodes stay listed for
  ``terminated_visible_s``.

**Convention: a spot offering is not listed while its capacity is gone.** Only
offerings that can be launched now are listed, so a planner (and every policy of
:mod:`solver.policies`) sees spot availability only through the listing: the offering
disappears when the trace says "unavailable" and comes back when it returns.

Time comes only from ``clock`` (the simulation's virtual clock), never from the wall.
The ``ex_*`` methods are for the simulation engine: which nodes were launched, when
each one is ready and when it will be reclaimed, and when the catalog next changes.
Not thread-safe: one simulation drives it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    CapacityError,
    CloudError,
    Market,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaError,
    QuotaLimit,
)
from adapters.sim.selectors import resolve, validate
from adapters.sim.spot import PlannedPreemption, SpotSupply, hazard_lifetime_s

INF = math.inf


@dataclass(frozen=True)
class QuotaChange:
    """From ``at`` on, pool ``pool`` holds at most ``capacity`` (vCPUs or GPUs)."""

    at: datetime
    pool: str
    capacity: float

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("QuotaChange.at must be timezone-aware")
        if self.capacity < 0:
            raise ValueError(f"quota capacity must be >= 0, got {self.capacity}")


@dataclass
class SimNode:
    """A node of the simulated cloud; times are POSIX seconds."""

    node_id: str
    token: str
    name: str
    offering: Offering
    tags: Mapping[str, str]
    launched_at: float
    ready_at: float
    #: 1-based number among this cloud's spot launches (0: on-demand).
    spot_seq: int = 0
    #: When the cloud announces it takes the node back (None: never).
    notice_at: float | None = None
    #: When the node is gone, preempted (``notice_at + notice_s``).
    reclaim_at: float | None = None
    #: When we terminated it.
    terminated_at: float | None = None
    _info: tuple[NodeStatus, bool, NodeInfo] | None = field(default=None, repr=False)

    @property
    def end(self) -> float:
        """When the node stops existing (INF while nothing ends it)."""
        return min(
            INF if self.terminated_at is None else self.terminated_at,
            INF if self.reclaim_at is None else self.reclaim_at,
        )

    def alive_at(self, t: float) -> bool:
        return t < self.end

    def preempted_at(self, t: float) -> bool:
        """Gone by ``t`` because the cloud reclaimed it (not because we terminated it)."""
        return self.reclaim_at is not None and t >= self.reclaim_at == self.end

    def status_at(self, t: float) -> NodeStatus:
        if t >= self.end:
            return NodeStatus.TERMINATED
        return NodeStatus.PENDING if t < self.ready_at else NodeStatus.RUNNING

    def info_at(self, t: float, cloud: str) -> NodeInfo:
        status, preempted = self.status_at(t), self.preempted_at(t)
        cached = self._info
        if cached is not None and cached[0] == status and cached[1] == preempted:
            return cached[2]
        info = NodeInfo(
            node_id=self.node_id,
            cloud=cloud,
            region=self.offering.region,
            instance_type=self.offering.instance_type,
            market=self.offering.market,
            status=status,
            tags=self.tags,
            created_at=datetime.fromtimestamp(self.launched_at, UTC),
            preempted=preempted,
            client_token=self.token,
        )
        self._info = (status, preempted, info)
        return info


class SimCloud:
    """See the module docstring. Settings keyed by selector (``spot``, ``launch_delays``,
    ``capacity``) follow :mod:`adapters.sim.selectors`; a spot offering no ``spot``
    selector matches is taken back at its advertised hazard
    (``Offering.preemption_hazard_per_hour``) and never runs out of capacity."""

    def __init__(
        self,
        name: str,
        offerings: Sequence[Offering],
        *,
        clock: Callable[[], datetime],
        quotas: Sequence[QuotaLimit] = (),
        quota_changes: Sequence[QuotaChange] = (),
        spot: Mapping[str, SpotSupply] | None = None,
        launch_delays: Mapping[str, float] | None = None,
        capacity: Mapping[str, int] | None = None,
        schedule: Sequence[PlannedPreemption] = (),
        notice_s: float = 0.0,
        seed: int = 0,
        terminated_visible_s: float = 3600.0,
    ) -> None:
        spot, launch_delays, capacity = spot or {}, launch_delays or {}, capacity or {}
        for what, settings in (("spot", spot), ("launch_delays", launch_delays)):
            validate(settings, what)
        validate(capacity, "capacity")
        if notice_s < 0:
            raise ValueError(f"notice_s must be >= 0, got {notice_s}")
        self._name = name
        self._clock = clock
        self._offerings = tuple(offerings)
        self._by_id: dict[str, Offering] = {}
        for o in self._offerings:
            if o.cloud != name:
                raise ValueError(f"offering {o.id} is not in cloud {name}")
            if o.id in self._by_id:
                raise ValueError(f"offering {o.id} listed twice")
            self._by_id[o.id] = o
        self._supply: dict[str, SpotSupply] = {}
        self._delay: dict[str, float] = {}
        self._capacity: dict[str, int] = {}
        for o in self._offerings:
            if o.market is Market.SPOT:
                found = resolve(spot, o)
                self._supply[o.id] = found or SpotSupply(
                    hazard_per_hour=o.preemption_hazard_per_hour
                )
            delay = resolve(launch_delays, o)
            self._delay[o.id] = o.launch_delay_s if delay is None else float(delay)
            if self._delay[o.id] < 0:
                raise ValueError(f"launch delay of {o.id} must be >= 0")
            cap = resolve(capacity, o)
            if cap is not None:
                self._capacity[o.id] = int(cap)
        self._base_quotas = {q.pool: q.capacity for q in quotas}
        self._changes = sorted(quota_changes, key=lambda c: c.at)
        self._change_times = [c.at.timestamp() for c in self._changes]
        self._schedule = {p.nth_spot_launch: p.after_s for p in schedule}
        self._notice_s = notice_s
        self._seed = seed
        self._visible_s = terminated_visible_s
        self._nodes: dict[str, SimNode] = {}
        self._by_token: dict[str, SimNode] = {}
        self._order: list[SimNode] = []
        #: Nodes not yet terminated, and those terminated less than visible_s ago.
        self._live: dict[str, SimNode] = {}
        self._visible: dict[str, SimNode] = {}
        self._spot_launches = 0
        self._spot_launches_of: dict[str, int] = {}
        self._listing: tuple[Offering, ...] = ()
        self._listing_span = (INF, -INF)  # [from, until) in which the listing holds
        self._quota_cache: tuple[int, tuple[QuotaLimit, ...]] | None = None

    # -- the port ----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    def list_offerings(self) -> Sequence[Offering]:
        """The offerings that can be launched now: on-demand ones always, spot ones while
        their capacity is there (see the module docstring)."""
        t = self._now()
        start, until = self._listing_span
        if not start <= t < until:
            listed = []
            nxt = INF
            for o in self._offerings:
                supply = self._supply.get(o.id)
                series = supply.availability if supply is not None else None
                if series is not None:
                    flip = series.next_change(t)
                    if flip is not None:
                        nxt = min(nxt, flip)
                    if not series.available_at(t):
                        continue
                listed.append(o)
            self._listing = tuple(listed)
            self._listing_span = (t, nxt)
        return self._listing

    def quotas(self) -> Sequence[QuotaLimit]:
        """The quotas in force now (base quotas with the changes due by now applied)."""
        applied = self._changes_applied(self._now())
        if self._quota_cache is None or self._quota_cache[0] != applied:
            current = dict(self._base_quotas)
            for change in self._changes[:applied]:
                current[change.pool] = change.capacity
            self._quota_cache = (
                applied,
                tuple(QuotaLimit(pool, cap) for pool, cap in current.items()),
            )
        return self._quota_cache[1]

    def launch(self, spec: NodeSpec, *, token: str) -> NodeInfo:
        """Launch ``spec`` now, or return the node an earlier call with ``token`` made."""
        if not token:
            raise CloudError("launch needs an idempotency token", code="InvalidParameterValue")
        t = self._now()
        off = spec.offering
        existing = self._by_token.get(token)
        if existing is not None:
            if existing.offering.id != off.id:
                raise CloudError(
                    f"client token {token!r} was used for another request",
                    code="IdempotentParameterMismatch",
                )
            return existing.info_at(t, self._name)
        if self._by_id.get(off.id) is None:
            raise CloudError(f"{off.id} is not sold by {self._name}", code="InvalidParameterValue")
        supply = self._supply.get(off.id)
        series = supply.availability if supply is not None else None
        if series is not None and not series.available_at(t):
            raise CapacityError(
                f"no spot capacity for {off.instance_type} in {off.zone or off.region}",
                code="InsufficientInstanceCapacity",
            )
        live = self._live_nodes(t)
        limit = self._capacity.get(off.id)
        if limit is not None and sum(1 for n in live if n.offering.id == off.id) >= limit:
            raise CapacityError(
                f"insufficient capacity for {off.instance_type} in {off.zone or off.region}",
                code="InsufficientInstanceCapacity",
            )
        self._check_quota(off, live, t)
        node = self._new_node(spec, token, t)
        return node.info_at(t, self._name)

    def list_nodes(self, tags: Mapping[str, str]) -> Sequence[NodeInfo]:
        t = self._now()
        out = []
        for node_id, node in list(self._visible.items()):
            if t >= node.end + self._visible_s:
                del self._visible[node_id]
                continue
            if all(node.tags.get(k) == v for k, v in tags.items()):
                out.append(node.info_at(t, self._name))
        return out

    def terminate(self, node_id: str) -> None:
        """Terminate now; silent when the node is unknown or already gone."""
        node = self._nodes.get(node_id)
        if node is None:
            return
        t = self._now()
        if node.alive_at(t):
            node.terminated_at = t

    # -- for the simulation engine -----------------------------------------------------

    def ex_node(self, node_id: str) -> SimNode | None:
        return self._nodes.get(node_id)

    def ex_launched(self, since: int = 0) -> list[SimNode]:
        """Nodes in launch order from the ``since``-th (0-based) on."""
        return self._order[since:]

    @property
    def ex_launch_count(self) -> int:
        return len(self._order)

    def ex_next_change(self, after: datetime) -> datetime | None:
        """The first time after ``after`` at which the listing or the quotas change."""
        t = after.timestamp()
        nxt = INF
        for supply in self._supply.values():
            if supply.availability is not None:
                flip = supply.availability.next_change(t)
                if flip is not None:
                    nxt = min(nxt, flip)
        k = self._changes_applied(t)
        if k < len(self._change_times):
            nxt = min(nxt, self._change_times[k])
        return None if nxt == INF else datetime.fromtimestamp(nxt, UTC)

    def ex_launch_delay_s(self, offering_id: str) -> float:
        return self._delay[offering_id]

    # -- inside ------------------------------------------------------------------------

    def _now(self) -> float:
        return self._clock().timestamp()

    def _changes_applied(self, t: float) -> int:
        k = 0
        while k < len(self._change_times) and self._change_times[k] <= t:
            k += 1
        return k

    def _live_nodes(self, t: float) -> list[SimNode]:
        for node_id in [k for k, n in self._live.items() if not n.alive_at(t)]:
            del self._live[node_id]
        return list(self._live.values())

    def _check_quota(self, off: Offering, live: list[SimNode], t: float) -> None:
        limits = {q.pool: q.capacity for q in self.quotas()}
        for pool, amount in off.quota_draw:
            limit = limits.get(pool)
            if limit is None:
                continue
            held = sum(a for n in live for p, a in n.offering.quota_draw if p == pool)
            if held + amount > limit + 1e-9:
                unit = "GPUs" if "/gpu:" in pool or "-gpu:" in pool else "vCPUs"
                raise QuotaError(
                    f"quota {pool} of {limit:g} {unit} exceeded: {held:g} held, {amount:g} asked",
                    code="QuotaExceeded",
                    limit=limit,
                )

    def _new_node(self, spec: NodeSpec, token: str, t: float) -> SimNode:
        off = spec.offering
        node = SimNode(
            node_id=f"sim-{self._name}-{len(self._order) + 1:06d}",
            token=token,
            name=spec.name,
            offering=off,
            tags={MANAGED_BY_TAG: MANAGED_BY_VALUE, **spec.tags},
            launched_at=t,
            ready_at=t + self._delay[off.id],
        )
        if off.market is Market.SPOT:
            self._spot_launches += 1
            n = self._spot_launches_of.get(off.id, 0) + 1
            self._spot_launches_of[off.id] = n
            node.spot_seq = self._spot_launches
            node.notice_at = self._notice_time(node, n)
            if node.notice_at is not None:
                # A node still booting has no worker to warn: it is taken at once.
                booting = node.notice_at < node.ready_at
                node.reclaim_at = node.notice_at + (0.0 if booting else self._notice_s)
        self._nodes[node.node_id] = node
        self._by_token[token] = node
        self._order.append(node)
        self._live[node.node_id] = node
        self._visible[node.node_id] = node
        return node

    def _notice_time(self, node: SimNode, n: int) -> float | None:
        """When the cloud announces it takes spot ``node`` (the ``n``-th of its offering)
        back: the earliest of capacity going, the hazard, the schedule."""
        supply = self._supply[node.offering.id]
        candidates: list[float] = []
        if supply.availability is not None:
            gone = supply.availability.next_unavailable(node.launched_at)
            if gone is not None:
                candidates.append(gone)
        lifetime = hazard_lifetime_s(self._seed, node.offering.id, n, supply.hazard_per_hour)
        if lifetime is not None:
            candidates.append(node.launched_at + lifetime)
        after = self._schedule.get(node.spot_seq)
        if after is not None:
            candidates.append(node.ready_at + after)
        return min(candidates) if candidates else None
