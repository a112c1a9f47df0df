"""libcloud's Azure Resource Manager driver with what skybatch needs that it lacks.

libcloud 3.9.1's ``AzureNodeDriver.create_node`` cannot ask for a Spot VM (no
``priority``, ``evictionPolicy``, ``billingProfile``), base64-encodes ``ex_customdata``
as ``bytes`` (which ``json.dumps`` then refuses), and its ``destroy_node`` polls with
``time.sleep(10)`` up to ten times to delete the NIC and disk after the VM. So
:class:`SkybatchAzureDriver` writes the VM itself (one PUT, API version 2021-11-01, the
one libcloud uses for VMs):

- **Idempotent by name.** Given ``ex_idempotency_token``, the VM is named after it
  (:func:`vm_name`). A create is a PUT of the whole VM, so repeating it is harmless,
  but it would also *update* a VM of that name that someone else made: the VM is read
  first, returned as it is when it carries our token (tag ``skybatch-token``), and
  refused when it carries another.
- **One DELETE cleans up.** The NIC (made per VM, tagged) and the managed OS disk are
  created with ``deleteOption: Delete``, so :meth:`SkybatchAzureDriver.destroy_node` is a
  single DELETE that does not wait. When the VM's PUT fails, its NIC is deleted again.
- **Configured regions only.** ``list_locations`` returns only ``ex_regions``.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.compute.base import Node, NodeImage, NodeLocation, NodeSize
from libcloud.compute.drivers.azure_arm import NIC_API_VERSION, AzureImage, AzureNodeDriver

from adapters.clouds.node_names import name_for_token

#: The API version of the VM calls: libcloud's own (``VM_API_VERSION``), pinned here
#: because the request body below is written for it.
VM_API_VERSION = "2021-11-01"
#: Tag holding the idempotency token a VM (and its NIC) was launched with.
TOKEN_TAG = "skybatch-token"


def vm_name(token: str) -> str:
    """The name of the VM launched with ``token`` (Linux VM names: at most 64)."""
    return name_for_token(token, max_len=64)


class NameTakenError(LibcloudError):
    """A VM with the token's name exists and was not launched with that token."""


class SkybatchAzureDriver(AzureNodeDriver):
    """``AzureNodeDriver`` with Spot, tagged per-VM NICs, idempotent create, quick delete."""

    def __init__(self, *args: Any, ex_regions: Sequence[str] = (), **kwargs: Any) -> None:
        self.ex_regions = tuple(ex_regions)
        init: Callable[..., None] = super().__init__
        init(*args, **kwargs)

    def list_locations(self) -> list[NodeLocation]:
        list_all: Callable[[], list[NodeLocation]] = super().list_locations
        locations = list_all()
        if not self.ex_regions:
            return locations
        by_id = {location.id: location for location in locations}
        return [by_id[region] for region in self.ex_regions if region in by_id]

    def create_node(  # type: ignore[override]  # a different set of keywords
        self,
        name: str,
        size: NodeSize,
        image: NodeImage,
        location: NodeLocation | None = None,
        *,
        ex_idempotency_token: str,
        ex_resource_group: str,
        ex_subnet_id: str,
        ex_tags: Mapping[str, str],
        ex_customdata: str = "",
        ex_spot: bool = False,
        ex_eviction_policy: str = "Deallocate",
        ex_max_price: Decimal | None = None,
        ex_admin_username: str = "skybatch",
        ex_ssh_public_key: str | None = None,
        ex_os_disk_type: str = "StandardSSD_LRS",
        ex_os_disk_size_gb: int | None = None,
    ) -> Node:
        token = ex_idempotency_token
        name = vm_name(token)
        where = location if location is not None else self.default_location
        if where is None:
            raise ValueError("location is required")
        target = self._resource_id(ex_resource_group, "Microsoft.Compute/virtualMachines", name)
        existing = self._get_or_none(target, VM_API_VERSION)
        if existing is not None:
            if (existing.get("tags") or {}).get(TOKEN_TAG) == token:
                return self._node(existing)
            raise NameTakenError(
                f"VM {name} exists and was not launched with token {token!r}", driver=self
            )
        tags = {**ex_tags, TOKEN_TAG: token}
        nic_id = self._put_nic(ex_resource_group, f"{name}-nic", ex_subnet_id, where.id, tags)
        os_disk: dict[str, Any] = {
            "name": f"{name}-osdisk",
            "osType": "Linux",
            "createOption": "FromImage",
            "caching": "ReadWrite",
            "managedDisk": {"storageAccountType": ex_os_disk_type},
            "deleteOption": "Delete",
        }
        if ex_os_disk_size_gb:
            os_disk["diskSizeGB"] = ex_os_disk_size_gb
        properties: dict[str, Any] = {
            "hardwareProfile": {"vmSize": size.id},
            "storageProfile": {"imageReference": _image_reference(image), "osDisk": os_disk},
            "osProfile": {
                "computerName": name,
                "adminUsername": ex_admin_username,
                **_linux_auth(ex_admin_username, ex_ssh_public_key),
            },
            "networkProfile": {
                "networkInterfaces": [
                    {"id": nic_id, "properties": {"primary": True, "deleteOption": "Delete"}}
                ]
            },
        }
        if ex_customdata:
            properties["osProfile"]["customData"] = base64.b64encode(ex_customdata.encode()).decode(
                "ascii"
            )
        if ex_spot:
            properties["priority"] = "Spot"
            properties["evictionPolicy"] = ex_eviction_policy
            # -1: pay up to the on-demand price, evicted only for capacity.
            max_price = float(ex_max_price) if ex_max_price is not None else -1
            properties["billingProfile"] = {"maxPrice": max_price}
        body = {"location": where.id, "tags": tags, "properties": properties}
        request: Callable[..., Any] = self.connection.request
        try:
            response = request(
                target, params={"api-version": VM_API_VERSION}, data=body, method="PUT"
            )
        except Exception:
            self._delete_quietly(nic_id, NIC_API_VERSION)
            raise
        return self._node(response.object)

    def destroy_node(self, node: Node, **kwargs: Any) -> bool:  # type: ignore[override]
        """Delete the VM (its NIC and OS disk go with it); True when already gone."""
        request: Callable[..., Any] = self.connection.request
        try:
            request(node.id, params={"api-version": VM_API_VERSION}, method="DELETE")
        except BaseHTTPError as exc:
            if exc.code not in (202, 204, 404):
                raise
        return True

    # -- helpers -------------------------------------------------------------------------

    def _resource_id(self, resource_group: str, kind: str, name: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{resource_group}"
            f"/providers/{kind}/{name}"
        )

    def _node(self, data: Mapping[str, Any]) -> Node:
        # The VM as ARM returned it; NIC addresses and power state are not needed here.
        to_node: Callable[..., Node] = self._to_node
        return to_node(data, fetch_nic=False, fetch_power_state=False)

    def _get_or_none(self, resource_id: str, api_version: str) -> dict[str, Any] | None:
        request: Callable[..., Any] = self.connection.request
        try:
            found: dict[str, Any] = request(resource_id, params={"api-version": api_version}).object
        except BaseHTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return found

    def _put_nic(
        self, resource_group: str, name: str, subnet_id: str, region: str, tags: Mapping[str, str]
    ) -> str:
        nic_id = self._resource_id(resource_group, "Microsoft.Network/networkInterfaces", name)
        body = {
            "location": region,
            "tags": dict(tags),
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "subnet": {"id": subnet_id},
                            "privateIPAllocationMethod": "Dynamic",
                        },
                    }
                ]
            },
        }
        request: Callable[..., Any] = self.connection.request
        response = request(nic_id, params={"api-version": NIC_API_VERSION}, data=body, method="PUT")
        return str(response.object.get("id") or nic_id)

    def _delete_quietly(self, resource_id: str, api_version: str) -> None:
        request: Callable[..., Any] = self.connection.request
        # Best effort: a leftover NIC carries its token tag.
        with contextlib.suppress(BaseHTTPError, LibcloudError, OSError):
            request(resource_id, params={"api-version": api_version}, method="DELETE")


def _image_reference(image: NodeImage) -> dict[str, str]:
    if isinstance(image, AzureImage):
        return {
            "publisher": image.publisher,
            "offer": image.offer,
            "sku": image.sku,
            "version": image.version,
        }
    return {"id": str(image.id)}  # a gallery or managed image by resource id


def _linux_auth(user: str, ssh_public_key: str | None) -> dict[str, Any]:
    if ssh_public_key:
        return {
            "linuxConfiguration": {
                "disablePasswordAuthentication": True,
                "ssh": {
                    "publicKeys": [
                        {"path": f"/home/{user}/.ssh/authorized_keys", "keyData": ssh_public_key}
                    ]
                },
            }
        }
    # Azure wants a password or a key; a random one nobody keeps means no login at all.
    return {
        "adminPassword": secrets.token_urlsafe(24) + "aA1!",
        "linuxConfiguration": {"disablePasswordAuthentication": False},
    }
