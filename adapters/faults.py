"""A cloud that fails on purpose: faults injected in front of any :class:`CloudPort`.

Used by the fault tests and the chaos test, and usable in simulations: it is a real
implementation of the port that passes every call to the cloud it wraps, except when
it decides to fail it the way real clouds do:

- throttling (429 / 5xx) at a given rate on any call, *before* the call reaches the
  cloud or, for launches, *after* it (the node exists but the answer was lost: the
  case the idempotency token is for);
- capacity errors for every launch in some regions;
- quota errors once a pool would go over a limit the wrapped cloud does not know,
  with the limit in the error as real clouds report it.

``skybatch serve --faults "throttle=0.1,no-capacity=REGION[+REGION],seed=N"`` (or
``SKYBATCH_FAULTS``) wraps every cloud it buys from in a :class:`FaultyCloud`; the text
is read by :meth:`Faults.parse`. Every injected fault is logged at WARNING as
``injected fault: <kind> ...`` so a run can count them.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from adapters.base import (
    CapacityError,
    CloudPort,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaError,
    QuotaLimit,
    ThrottledError,
)

log = logging.getLogger(__name__)


class FaultsSyntaxError(ValueError):
    """A ``--faults`` text that :meth:`Faults.parse` cannot read."""


@dataclass(frozen=True)
class Faults:
    #: Share of calls answered "throttled" (half before, half after a launch went through).
    throttle_rate: float = 0.0
    #: Which calls may be throttled.
    throttle_calls: Collection[str] = frozenset(
        {"list_offerings", "launch", "list_nodes", "terminate"}
    )
    #: Regions whose launches all fail for lack of capacity.
    no_capacity_regions: Collection[str] = frozenset()
    #: pool -> real limit, below what the wrapped cloud enforces.
    hidden_quota: Mapping[str, float] = field(default_factory=dict)
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``throttle=RATE,no-capacity=REGION[+REGION...],seed=N`` (each part optional,
        comma-separated). Raises :class:`FaultsSyntaxError` naming the bad part."""
        values: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or key not in ("throttle", "no-capacity", "seed"):
                raise FaultsSyntaxError(
                    f"{part!r}: expected throttle=RATE, no-capacity=REGION[+REGION] or seed=N"
                )
            if key in values:
                raise FaultsSyntaxError(f"{key} given twice")
            values[key] = value
        try:
            rate = float(values.get("throttle", "0"))
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise FaultsSyntaxError(f"throttle={values['throttle']}: expected a rate in 0..1")
        regions = [r.strip() for r in values.get("no-capacity", "").split("+") if r.strip()]
        if "no-capacity" in values and not regions:
            raise FaultsSyntaxError("no-capacity=: name at least one region")
        try:
            seed = int(values.get("seed", "0"))
        except ValueError:
            raise FaultsSyntaxError(f"seed={values['seed']}: expected an integer") from None
        return cls(throttle_rate=rate, no_capacity_regions=frozenset(regions), seed=seed)


class FaultyCloud:
    def __init__(self, inner: CloudPort, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {"throttled": 0, "capacity": 0, "quota": 0}

    @property
    def name(self) -> str:
        return self.inner.name

    def list_offerings(self) -> Sequence[Offering]:
        self._maybe_throttle("list_offerings")
        return self.inner.list_offerings()

    def quotas(self) -> Sequence[QuotaLimit]:
        return self.inner.quotas()

    def launch(self, spec: NodeSpec, *, token: str) -> NodeInfo:
        self._maybe_throttle("launch")
        off = spec.offering
        if off.region in self.faults.no_capacity_regions:
            self._count("capacity")
            raise CapacityError(
                f"We currently do not have sufficient {off.instance_type} capacity in "
                f"the Availability Zone you requested ({off.zone}).",
                code="InsufficientInstanceCapacity",
            )
        self._check_hidden_quota(spec, token)
        node = self.inner.launch(spec, token=token)
        if "launch" in self.faults.throttle_calls and self._roll():  # made, answer lost
            self._count("throttled")
            raise ThrottledError(
                "Request limit exceeded (after launch)", code="RequestLimitExceeded"
            )
        return node

    def list_nodes(self, tags: Mapping[str, str]) -> Sequence[NodeInfo]:
        self._maybe_throttle("list_nodes")
        return self.inner.list_nodes(tags)

    def terminate(self, node_id: str) -> None:
        self._maybe_throttle("terminate")
        self.inner.terminate(node_id)

    def _check_hidden_quota(self, spec: NodeSpec, token: str) -> None:
        if not self.faults.hidden_quota:
            return
        running = [
            n
            for n in self.inner.list_nodes({})
            if n.status in (NodeStatus.PENDING, NodeStatus.RUNNING) and n.client_token != token
        ]
        held: dict[str, float] = {}
        by_type = {(o.region, o.instance_type, o.market): o for o in self.inner.list_offerings()}
        for n in running:
            o = by_type.get((n.region, n.instance_type, n.market))
            for pool, amount in o.quota_draw if o else ():
                held[pool] = held.get(pool, 0.0) + amount
        for pool, amount in spec.offering.quota_draw:
            limit = self.faults.hidden_quota.get(pool)
            if limit is not None and held.get(pool, 0.0) + amount > limit:
                self._count("quota")
                raise QuotaError(
                    f"You have requested more vCPU capacity than your current vCPU limit of "
                    f"{limit:g} allows ({pool})",
                    code="VcpuLimitExceeded",
                    limit=limit,
                )

    def _roll(self) -> bool:
        with self._lock:
            return self._rng.random() < self.faults.throttle_rate / 2

    def _maybe_throttle(self, what: str) -> None:
        if what in self.faults.throttle_calls and self._roll():
            self._count("throttled")
            raise ThrottledError(f"{what}: Request limit exceeded", code="RequestLimitExceeded")

    def _count(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1
        log.warning("injected fault: %s (cloud %s)", kind, self.name)
