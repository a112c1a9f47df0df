"""libcloud's GCE driver with the two things skybatch needs that it lacks.

- **Idempotent create.** ``instances.insert`` takes no client token. Given
  ``ex_idempotency_token``, :meth:`SkybatchGCEDriver.create_node` names the instance
  after the token (:func:`~adapters.clouds.node_names.name_for_token`); names are unique
  per zone, so a retried insert fails with ``alreadyExists``. That instance is returned
  when it carries the same token (in its metadata), and the error is raised otherwise:
  a name we did not make must not be adopted.
- **Configured zones only.** ``list_locations`` returns only ``ex_zones`` (all zones when
  empty): the port lists sizes per location, and a project sees every zone of GCE.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from libcloud.common.google import ResourceExistsError
from libcloud.compute.base import Node, NodeImage, NodeLocation, NodeSize
from libcloud.compute.drivers.gce import GCENodeDriver

from adapters.clouds.node_names import name_for_token

#: Metadata key holding the idempotency token a node was launched with.
TOKEN_METADATA_KEY = "skybatch-token"


def metadata_items(node_metadata: object) -> dict[str, str]:
    """GCE ``metadata`` (``{"items": [{"key", "value"}]}``) as a plain dict."""
    if not isinstance(node_metadata, Mapping):
        return {}
    items = node_metadata.get("items")
    if not isinstance(items, list):
        return {}
    out: dict[str, str] = {}
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("key"), str):
            out[item["key"]] = str(item.get("value", ""))
    return out


def instance_name(token: str) -> str:
    """The name of the instance launched with ``token``."""
    return name_for_token(token, max_len=63)


class SkybatchGCEDriver(GCENodeDriver):
    """``GCENodeDriver`` plus token-named creates and a zone allow-list."""

    def __init__(self, *args: Any, ex_zones: Sequence[str] = (), **kwargs: Any) -> None:
        self.ex_zones = tuple(ex_zones)
        init: Callable[..., None] = super().__init__
        init(*args, **kwargs)

    def list_locations(self) -> list[NodeLocation]:
        list_all: Callable[[], list[NodeLocation]] = super().list_locations
        locations = list_all()
        if not self.ex_zones:
            return locations
        by_name = {location.name: location for location in locations}
        return [by_name[zone] for zone in self.ex_zones if zone in by_name]

    def create_node(  # type: ignore[override]  # keyword-only extra, same call shape
        self,
        name: str,
        size: NodeSize,
        image: NodeImage,
        location: NodeLocation | None = None,
        *,
        ex_idempotency_token: str | None = None,
        **kwargs: Any,
    ) -> Node:
        create: Callable[..., Node] = super().create_node
        if not ex_idempotency_token:
            return create(name, size, image, location, **kwargs)
        token = ex_idempotency_token
        name = instance_name(token)
        try:
            created = create(name, size, image, location, **kwargs)
        except ResourceExistsError:
            get_node: Callable[..., Node] = self.ex_get_node
            existing = get_node(name, location if location is not None else self.zone)
            if metadata_items(existing.extra.get("metadata")).get(TOKEN_METADATA_KEY) == token:
                return existing
            raise
        return created
