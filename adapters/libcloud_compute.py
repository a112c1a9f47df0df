"""The cloud port over any libcloud compute ``NodeDriver``.

:class:`LibcloudCloud` is the one implementation of :class:`adapters.base.CloudPort`.
It knows libcloud's generic API (locations, sizes, images, nodes) and nothing about
a particular provider; what differs per provider (how spot is requested, how tags
and idempotency tokens are passed, what its error codes mean, how it reports a
preemption) lives in a small :class:`ProviderProfile`.

Error contract: every exception a driver raises leaves this module as a
:class:`~adapters.base.CloudError`. The profile's ``map_error`` is asked first; then
the generic rules below apply (HTTP 429 and 5xx are throttling, 401/403 and invalid
credentials are auth errors); anything else becomes a plain ``CloudError`` carrying
the message, with the original as ``__cause__``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import requests
from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import InvalidCredsError, ProviderError
from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.types import NodeState

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    AuthError,
    CloudError,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaLimit,
    ThrottledError,
)

_STATUS_BY_STATE: Mapping[str, NodeStatus] = {
    NodeState.PENDING: NodeStatus.PENDING,
    NodeState.STARTING: NodeStatus.PENDING,
    NodeState.REBOOTING: NodeStatus.RUNNING,
    NodeState.RUNNING: NodeStatus.RUNNING,
    NodeState.STOPPING: NodeStatus.STOPPED,
    NodeState.STOPPED: NodeStatus.STOPPED,
    NodeState.SUSPENDED: NodeStatus.STOPPED,
    NodeState.PAUSED: NodeStatus.STOPPED,
    NodeState.TERMINATED: NodeStatus.TERMINATED,
}


def parse_utc(raw: object) -> datetime | None:
    """A provider's ISO-8601 timestamp (creation time, ...) as aware UTC; None when it is
    missing, malformed or has no offset."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None


def node_status(state: str) -> NodeStatus:
    """Our status for a libcloud ``NodeState`` (UNKNOWN for anything unexpected)."""
    return _STATUS_BY_STATE.get(state, NodeStatus.UNKNOWN)


class ProviderProfile(ABC):
    """What one provider does differently; everything else is generic libcloud."""

    @abstractmethod
    def offerings_for(self, size: NodeSize, location: NodeLocation) -> list[Offering]:
        """The offerings (on-demand and, where sold, spot) of ``size`` in ``location``."""

    @abstractmethod
    def image_for(self, driver: NodeDriver, spec: NodeSpec) -> NodeImage:
        """The image to boot ``spec`` from."""

    @abstractmethod
    def launch_kwargs(
        self, spec: NodeSpec, token: str, size: NodeSize, image: NodeImage, location: NodeLocation
    ) -> dict[str, Any]:
        """Provider-specific ``create_node`` keywords: user data, tags, token, market."""

    @abstractmethod
    def node_info(self, node: Node) -> NodeInfo:
        """A libcloud node as the port reports it (tags, market, preempted, token)."""

    def map_error(self, exc: Exception) -> CloudError | None:
        """The port error for a provider error code, or None for the generic rules."""
        return None

    def list_kwargs(self, tags: Mapping[str, str]) -> dict[str, Any]:
        """``list_nodes`` keywords that filter by ``tags`` on the server, if it can."""
        return {}


def map_libcloud_error(exc: Exception) -> CloudError:
    """The generic mapping of a libcloud (or transport) exception to a port error."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, CloudError):
        return exc
    if isinstance(exc, RateLimitReachedError):
        return ThrottledError(message, code="429")
    if isinstance(exc, InvalidCredsError):
        return AuthError(message, code="401")
    status = _http_status(exc)
    if status is not None:
        if status == 429 or status >= 500:
            return ThrottledError(message, code=str(status))
        if status in (401, 403):
            return AuthError(message, code=str(status))
    # Network trouble is transient; a retry with the same token cannot double-launch.
    # HTTP drivers raise requests' own ConnectionError/Timeout, not the built-in ones.
    if isinstance(
        exc, ConnectionError | TimeoutError | requests.ConnectionError | requests.Timeout
    ):
        return ThrottledError(message, code=type(exc).__name__)
    return CloudError(message, code=type(exc).__name__)


def _http_status(exc: Exception) -> int | None:
    if isinstance(exc, ProviderError):
        code: object = exc.http_code
    elif isinstance(exc, BaseHTTPError):
        code = exc.code
    else:
        return None
    return code if isinstance(code, int) else None


def _one_node(created: Node | list[Node]) -> Node:
    """The node ``create_node`` made: some drivers (EC2) return a list when the provider
    answered with other than exactly one instance."""
    if isinstance(created, Node):
        return created
    if len(created) != 1:
        raise CloudError(
            f"create_node returned {len(created)} nodes instead of one",
            code="UnexpectedResponse",
        )
    return created[0]


def _target_key(offering: Offering) -> tuple[str, str, str]:
    return (offering.region, offering.zone, offering.instance_type)


@dataclass(frozen=True)
class _Catalog:
    offerings: tuple[Offering, ...]
    #: What to pass to create_node for an offering: the size and location it came from,
    #: so that how a provider names regions and zones stays the profile's business.
    targets: Mapping[tuple[str, str, str], tuple[NodeSize, NodeLocation]]
    fetched_at: float


class LibcloudCloud:
    """:class:`~adapters.base.CloudPort` over a libcloud ``NodeDriver``.

    Offerings, locations and sizes are cached for ``catalog_ttl_s`` seconds of
    ``clock`` (monotonic). Safe to share between threads.
    """

    def __init__(
        self,
        driver: NodeDriver,
        *,
        cloud: str,
        profile: ProviderProfile,
        quotas: Sequence[QuotaLimit] = (),
        catalog_ttl_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._driver = driver
        self._cloud = cloud
        self._profile = profile
        self._quotas = tuple(quotas)
        self._catalog_ttl_s = catalog_ttl_s
        self._clock = clock
        self._catalog: _Catalog | None = None
        self._catalog_lock = threading.Lock()

    @property
    def name(self) -> str:
        return self._cloud

    @property
    def driver(self) -> NodeDriver:
        return self._driver

    def list_offerings(self) -> Sequence[Offering]:
        return self._fresh_catalog().offerings

    def quotas(self) -> Sequence[QuotaLimit]:
        return self._quotas

    def launch(self, spec: NodeSpec, *, token: str) -> NodeInfo:
        """Launch ``spec``, or return the node an earlier call with ``token`` made."""
        if not token:
            raise CloudError("launch needs an idempotency token", code="InvalidParameterValue")
        offering = spec.offering
        if offering.cloud != self._cloud:
            raise CloudError(
                f"offering {offering.id} is not in cloud {self._cloud}",
                code="InvalidParameterValue",
            )
        # The driver's client token already makes create_node idempotent; looking first
        # also covers providers whose tokens expire or are scoped per region.
        existing = self._find_by_token(token)
        if existing is not None:
            return existing
        target = self._fresh_catalog().targets.get(_target_key(offering))
        if target is None:
            raise CloudError(
                f"{offering.instance_type} is not sold in {offering.zone}",
                code="InvalidParameterValue",
            )
        size, location = target
        tagged = replace(spec, tags={MANAGED_BY_TAG: MANAGED_BY_VALUE, **spec.tags})
        with self._mapped_errors():
            image = self._profile.image_for(self._driver, tagged)
        kwargs = self._profile.launch_kwargs(tagged, token, size, image, location)
        with self._mapped_errors():
            created = self._driver.create_node(
                name=spec.name, size=size, image=image, location=location, **kwargs
            )
        return self._profile.node_info(_one_node(created))

    def list_nodes(self, tags: Mapping[str, str]) -> Sequence[NodeInfo]:
        with self._mapped_errors():
            nodes = self._driver.list_nodes(**self._profile.list_kwargs(tags))
        infos = [self._profile.node_info(n) for n in nodes]
        return [i for i in infos if all(i.tags.get(k) == v for k, v in tags.items())]

    def terminate(self, node_id: str) -> None:
        """Terminate ``node_id``; silent when it is unknown or already terminated.

        Only nodes with our managed-by tag are looked at, so a stray id can never
        take down a machine skybatch did not launch.
        """
        node = self._find_node(node_id)
        if node is None or node_status(node.state) == NodeStatus.TERMINATED:
            return
        try:
            with self._mapped_errors():
                self._driver.destroy_node(node)
        except CloudError:
            # It may have gone between the lookup and the call (preempted, or another
            # replica terminated it): that is success, not an error.
            again = self._find_node(node_id)
            if again is None or node_status(again.state) == NodeStatus.TERMINATED:
                return
            raise

    def _find_node(self, node_id: str) -> Node | None:
        """Our node ``node_id`` (it carries the managed-by tag), or None."""
        ours = {MANAGED_BY_TAG: MANAGED_BY_VALUE}
        with self._mapped_errors():
            nodes = self._driver.list_nodes(**self._profile.list_kwargs(ours))
        for node in nodes:
            if node.id == node_id:
                tags = self._profile.node_info(node).tags
                return node if tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE else None
        return None

    def _find_by_token(self, token: str) -> NodeInfo | None:
        for info in self.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE}):
            if info.client_token == token:
                return info
        return None

    def _fresh_catalog(self) -> _Catalog:
        with self._catalog_lock:
            now = self._clock()
            cached = self._catalog
            if cached is not None and now - cached.fetched_at < self._catalog_ttl_s:
                return cached
            with self._mapped_errors():
                pairs = [
                    (size, location)
                    for location in self._driver.list_locations()
                    for size in self._driver.list_sizes(location)
                ]
            offerings: list[Offering] = []
            targets: dict[tuple[str, str, str], tuple[NodeSize, NodeLocation]] = {}
            for size, location in pairs:
                for offering in self._profile.offerings_for(size, location):
                    offerings.append(offering)
                    targets[_target_key(offering)] = (size, location)
            self._catalog = _Catalog(tuple(offerings), targets, now)
            return self._catalog

    @contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except CloudError:
            raise
        except Exception as exc:
            raise (self._profile.map_error(exc) or map_libcloud_error(exc)) from exc
