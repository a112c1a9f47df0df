"""libcloud's EC2 driver plus the two things skybatch needs from EC2 that it lacks.

- **Why an instance stopped.** ``node.extra["state_reason_code"]`` is the instance's
  ``stateReason/code``: ``Server.SpotInstanceTermination`` (or ``...Shutdown``) when AWS
  reclaimed a spot instance, ``Client.UserInitiatedShutdown`` when we terminated it.
  libcloud 3.9 parses the free-text ``reason`` but not this code.
- **Tags on volumes.** ``create_node(..., ex_volume_tags={...})`` tags the EBS volumes
  of the new instance. libcloud 3.9's ``create_node`` sends one ``TagSpecification``, of
  resource type ``instance``, and no way to add another; so the volumes are tagged with
  one ``CreateTags`` call right after ``RunInstances``. That is best effort: the real
  EC2 may answer ``RunInstances`` before the root volume is attached, in which case the
  volumes found by ``DescribeVolumes`` are tagged, and if there are none yet a warning
  is logged and the launch still succeeds (an untagged volume costs attribution, a
  failed launch of a running instance would cost a second instance).

- **Every page of instances.** ``list_nodes`` follows ``NextToken``. libcloud 3.9 sends
  one ``DescribeInstances`` and reads one page; an account with many instances (moto
  pages at 100, and terminated instances stay listed for a while on real EC2 too) then
  hides running nodes from the reconciler, which would take them for lost.

Everything else is ``get_driver(Provider.EC2)`` unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import Node, StorageVolume
from libcloud.compute.drivers.ec2 import NAMESPACE, EC2NodeDriver
from libcloud.utils.xml import findall, findtext

log = logging.getLogger(__name__)

#: DescribeInstances page size (EC2 allows 5-1000), and the most pages read per listing.
PAGE_SIZE = 1000
MAX_PAGES = 100


# libcloud's functions are unannotated; these are their types as used here.
_find_text: Callable[..., str | None] = findtext
_find_all: Callable[..., list[Any]] = findall


class SkybatchEc2Driver(EC2NodeDriver):
    def create_node(  # type: ignore[override]  # adds one keyword to libcloud's signature
        self, *args: Any, ex_volume_tags: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Node | list[Node]:
        create: Callable[..., Node | list[Node]] = super().create_node
        created = create(*args, **kwargs)
        if ex_volume_tags:
            for node in created if isinstance(created, list) else [created]:
                self._tag_volumes(node, ex_volume_tags)
        return created

    def _tag_volumes(self, node: Node, tags: Mapping[str, str]) -> None:
        list_volumes: Callable[[Node], list[StorageVolume]] = self.list_volumes
        request: Callable[..., object] = self.connection.request
        try:
            volume_ids = _volume_ids(node) or [str(v.id) for v in list_volumes(node)]
            if not volume_ids:
                log.warning("instance %s has no volume yet: its volumes stay untagged", node.id)
                return
            params: dict[str, str] = {"Action": "CreateTags"}
            for i, volume_id in enumerate(volume_ids, start=1):
                params[f"ResourceId.{i}"] = volume_id
            for i, (key, value) in enumerate(tags.items(), start=1):
                params[f"Tag.{i}.Key"] = key
                params[f"Tag.{i}.Value"] = value
            request(self.path, params=params)
        except (BaseHTTPError, LibcloudError, OSError) as exc:
            log.warning("could not tag the volumes of instance %s: %s", node.id, exc)

    def list_nodes(  # type: ignore[override]
        self, ex_node_ids: list[str] | None = None, ex_filters: Mapping[str, Any] | None = None
    ) -> list[Node]:
        base: dict[str, Any] = {"Action": "DescribeInstances"}
        if ex_node_ids:
            pathlist: Callable[..., dict[str, str]] = self._pathlist
            base.update(pathlist("InstanceId", ex_node_ids))
        else:
            base["MaxResults"] = PAGE_SIZE  # not allowed together with instance ids
        if ex_filters:
            build: Callable[..., dict[str, str]] = self._build_filters
            base.update(build(ex_filters))
        request: Callable[..., Any] = self.connection.request
        to_nodes: Callable[..., list[Node]] = self._to_nodes
        nodes: list[Node] = []
        token = ""
        for _ in range(MAX_PAGES):
            params = {**base, "NextToken": token} if token else base
            elem = request(self.path, params=params).object
            for rs in _find_all(element=elem, xpath="reservationSet/item", namespace=NAMESPACE):
                nodes += to_nodes(rs, "instancesSet/item")
            token = _find_text(element=elem, xpath="nextToken", namespace=NAMESPACE) or ""
            if not token:
                break
        else:
            log.warning("DescribeInstances still had pages after %d: listing cut", MAX_PAGES)
        return nodes

    def _to_node(self, element: Any) -> Node:
        to_node: Callable[[Any], Node] = super()._to_node
        node = to_node(element)
        code = _find_text(element=element, xpath="stateReason/code", namespace=NAMESPACE)
        node.extra["state_reason_code"] = code or ""
        return node


def _volume_ids(node: Node) -> list[str]:
    """EBS volume ids in the instance's block device mapping (as the API returned it)."""
    ids: list[str] = []
    for mapping in node.extra.get("block_device_mapping") or []:
        ebs = mapping.get("ebs") if isinstance(mapping, Mapping) else None
        volume_id = ebs.get("volume_id") if isinstance(ebs, Mapping) else None
        if volume_id:
            ids.append(str(volume_id))
    return ids
