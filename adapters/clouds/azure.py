"""Microsoft Azure as a skybatch cloud, through libcloud's Azure Resource Manager driver.

:func:`make_azure_cloud` returns the generic :class:`~adapters.libcloud_compute.LibcloudCloud`
over :class:`~adapters.clouds.azure_driver.SkybatchAzureDriver`; :class:`AzureProfile`
holds what Azure does differently:

- **Offerings** are the VM sizes ``list_sizes`` reports in each configured region (the
  zone of an offering is its region: VMs are regional here), priced from libcloud's
  bundled ``compute.azure_linux`` (``standard<size>`` on-demand, and ``lowpriority<size>``
  — Azure's low-priority price, used as the spot price: Azure's spot prices float and
  are not in the list), or from a catalog (:mod:`adapters.clouds.prices`). The sizes API
  says nothing about GPUs, so N-series sizes are sold only when the catalog has them.
  Spot draws from Azure's own "Total Regional Spot vCPUs" quota (``separate_spot_quota``).
- **Spot** is ``priority: Spot`` with ``evictionPolicy`` ``Deallocate`` by default: an
  evicted VM stays (deallocated, not billed for compute) so that it can be reported as
  preempted; skybatch then deletes it. With ``Delete`` an evicted VM just disappears.
- **Tags** are Azure tags, unchanged (tag names up to 512 characters, values up to 256,
  no ``<>%&\\?/`` in names: skybatch's tags satisfy that). The token is the
  ``skybatch-token`` tag.
- **User data** is the VM's ``customData`` (base64; cloud-init runs it).
- **Idempotency** by a VM name derived from the token (see
  :mod:`adapters.clouds.azure_driver`).
- **Listing** is per resource group (``ex_resource_group``), with one instance-view call
  per VM for its power state and none for NICs.
- **Errors**: :mod:`adapters.clouds.azure_errors`.

Credentials: a service principal (tenant, client id, client secret) with rights on the
resource group, from ``AZURE_TENANT_ID``, ``AZURE_CLIENT_ID``, ``AZURE_CLIENT_SECRET`` (or
``AZURE_CLIENT_SECRET_FILE``) and ``AZURE_SUBSCRIPTION_ID``, the names Azure's own SDKs
read. The secret never appears in a ``repr``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.drivers.azure_arm import AzureImage
from libcloud.compute.types import NodeState

from adapters.base import CloudError, Market, NodeInfo, NodeSpec, NodeStatus, Offering, QuotaLimit
from adapters.catalog.defaults import DEFAULT_SPOT_HAZARD_PER_HOUR
from adapters.catalog.defaults import launch_delay_s as default_launch_delay_s
from adapters.clouds.azure_driver import TOKEN_TAG, SkybatchAzureDriver
from adapters.clouds.azure_errors import map_azure_error
from adapters.clouds.config import (
    CloudConfigError,
    env_list,
    env_value,
    read_secret_file,
    required_env,
)
from adapters.clouds.prices import (
    CatalogPrices,
    compute_prices,
    list_priced_offering,
    price,
    pricing_provenance,
)
from adapters.libcloud_compute import (
    LibcloudCloud,
    ProviderProfile,
    map_libcloud_error,
    node_status,
    parse_utc,
)

CLOUD = "azure"
PRICING_SECTION = "azure_linux"
DEFAULT_IMAGE = "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest"
EVICTION_POLICIES = ("Deallocate", "Delete")

#: VM size families that carry GPUs (NC, ND, NG, NV): unknown count without a catalog.
_GPU_FAMILIES = ("standard_nc", "standard_nd", "standard_ng", "standard_nv")

# libcloud's classes are unannotated; these are their constructors' types as used here.
_AZURE_IMAGE: Callable[..., NodeImage] = AzureImage
_NODE_IMAGE: Callable[..., NodeImage] = NodeImage


@dataclass(frozen=True)
class AzureConfig:
    """What an Azure subscription needs to be a skybatch cloud."""

    tenant_id: str
    subscription_id: str
    client_id: str
    client_secret: str = field(repr=False)
    #: Resource group the VMs and their NICs go into (it must exist).
    resource_group: str
    #: Regions to sell and launch in, e.g. ``("eastus", "westeurope")``.
    regions: tuple[str, ...]
    #: Resource id of an existing subnet with outbound internet access (NAT gateway or
    #: similar): nodes get no public IP. ``/subscriptions/.../virtualNetworks/V/subnets/S``.
    subnet_id: str
    #: ``publisher:offer:sku:version``, or the resource id of a gallery or managed image.
    image: str = DEFAULT_IMAGE
    admin_username: str = "skybatch"
    #: Without a key, a random password nobody keeps is set: no login at all.
    ssh_public_key: str | None = None
    os_disk_type: str = "StandardSSD_LRS"
    os_disk_size_gb: int | None = None
    eviction_policy: str = "Deallocate"
    #: Highest spot price in $/h (None: up to the on-demand price, evicted only for capacity).
    spot_max_price: Decimal | None = None
    quotas: tuple[QuotaLimit, ...] = ()
    #: Offerings from :mod:`adapters.catalog` whose prices win over libcloud's.
    price_catalog: tuple[Offering, ...] = field(default=(), repr=False)
    spot_hazard_per_hour: float = DEFAULT_SPOT_HAZARD_PER_HOUR
    launch_delay_s: float = default_launch_delay_s(CLOUD)
    #: libcloud's name for a sovereign cloud (``AzureChinaCloud``, ...) or "default".
    cloud_environment: str = "default"

    def __post_init__(self) -> None:
        if self.eviction_policy not in EVICTION_POLICIES:
            raise CloudConfigError(f"eviction_policy must be one of {EVICTION_POLICIES}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> AzureConfig:
        """From ``AZURE_TENANT_ID``, ``AZURE_SUBSCRIPTION_ID``, ``AZURE_CLIENT_ID``,
        ``AZURE_CLIENT_SECRET`` (or ``AZURE_CLIENT_SECRET_FILE``, a path),
        ``SKYBATCH_AZURE_RESOURCE_GROUP``, ``SKYBATCH_AZURE_REGIONS`` (comma-separated)
        and ``SKYBATCH_AZURE_SUBNET_ID``; ``overrides`` set any other field."""
        env = os.environ if environ is None else environ
        secret = env_value(env, "AZURE_CLIENT_SECRET")
        if not secret and env_value(env, "AZURE_CLIENT_SECRET_FILE"):
            secret = read_secret_file(Path(env_value(env, "AZURE_CLIENT_SECRET_FILE")))
        if not secret and "client_secret" not in overrides:
            raise CloudConfigError("set AZURE_CLIENT_SECRET or AZURE_CLIENT_SECRET_FILE")
        values: dict[str, Any] = {
            "tenant_id": required_env(env, "AZURE_TENANT_ID"),
            "subscription_id": required_env(env, "AZURE_SUBSCRIPTION_ID"),
            "client_id": required_env(env, "AZURE_CLIENT_ID"),
            "client_secret": secret,
            "resource_group": required_env(env, "SKYBATCH_AZURE_RESOURCE_GROUP"),
            "regions": env_list(env, "SKYBATCH_AZURE_REGIONS"),
            "subnet_id": required_env(env, "SKYBATCH_AZURE_SUBNET_ID"),
        }
        image = env_value(env, "SKYBATCH_AZURE_IMAGE")
        if image:
            values["image"] = image
        values.update(overrides)
        if not values["regions"]:
            raise CloudConfigError("set SKYBATCH_AZURE_REGIONS (comma-separated regions)")
        return cls(**values)


def price_key(size: str, market: Market) -> str:
    """``compute.azure_linux`` key of a size: ``Standard_D2s_v3`` -> ``standardd2sv3``
    on demand, ``lowpriorityd2sv3`` for spot."""
    key = size.lower().replace("_", "")
    if market is Market.SPOT:
        return "lowpriority" + key.removeprefix("standard")
    return key


def list_price(size: str, region: str, market: Market) -> Decimal | None:
    by_region = compute_prices(PRICING_SECTION).get(price_key(size, market))
    return price(by_region.get(region)) if isinstance(by_region, Mapping) else None


class AzureProfile(ProviderProfile):
    def __init__(self, config: AzureConfig) -> None:
        self._config = config
        self._catalog = CatalogPrices(config.price_catalog, cloud=CLOUD)
        self._provenance = pricing_provenance(PRICING_SECTION)

    def offerings_for(self, size: NodeSize, location: NodeLocation) -> list[Offering]:
        region = str(location.id)
        instance_type = str(size.id)
        vcpus = float(size.extra.get("numberOfCores") or 0)
        memory_gib = float(size.ram or 0) / 1024
        if vcpus <= 0 or memory_gib <= 0:
            return []
        offerings: list[Offering] = []
        for market in (Market.ON_DEMAND, Market.SPOT):
            listed = self._catalog.find(region, region, instance_type, market)
            if listed is not None:
                offerings.append(replace(listed, separate_spot_quota=True))
                continue
            if instance_type.lower().startswith(_GPU_FAMILIES):
                continue  # GPU count unknown without a catalog
            hourly = list_price(instance_type, region, market)
            if hourly is None:
                continue
            offerings.append(
                list_priced_offering(
                    CLOUD,
                    region=region,
                    zone=region,
                    instance_type=instance_type,
                    market=market,
                    vcpus=vcpus,
                    memory_gib=memory_gib,
                    hourly=hourly,
                    spot_hazard_per_hour=self._config.spot_hazard_per_hour,
                    launch_delay_s=self._config.launch_delay_s,
                    provenance=self._provenance,
                )
            )
        return offerings

    def image_for(self, driver: NodeDriver, spec: NodeSpec) -> NodeImage:
        image = self._config.image
        if image.startswith("/"):
            return _NODE_IMAGE(id=image, name=image.rsplit("/", 1)[-1], driver=driver)
        parts = image.split(":")
        if len(parts) != 4:
            raise CloudError(
                f"Azure image {image!r} is neither publisher:offer:sku:version nor a resource id",
                code="InvalidParameterValue",
            )
        publisher, offer, sku, version = parts
        return _AZURE_IMAGE(version, sku, offer, publisher, None, driver)

    def launch_kwargs(
        self, spec: NodeSpec, token: str, size: NodeSize, image: NodeImage, location: NodeLocation
    ) -> dict[str, Any]:
        config = self._config
        return {
            "ex_idempotency_token": token,
            "ex_resource_group": config.resource_group,
            "ex_subnet_id": config.subnet_id,
            "ex_tags": dict(spec.tags),
            "ex_customdata": spec.user_data,
            "ex_spot": spec.offering.market is Market.SPOT,
            "ex_eviction_policy": config.eviction_policy,
            "ex_max_price": config.spot_max_price,
            "ex_admin_username": config.admin_username,
            "ex_ssh_public_key": config.ssh_public_key,
            "ex_os_disk_type": config.os_disk_type,
            "ex_os_disk_size_gb": config.os_disk_size_gb,
        }

    def list_kwargs(self, tags: Mapping[str, str]) -> dict[str, Any]:
        return {"ex_resource_group": self._config.resource_group, "ex_fetch_nic": False}

    def node_info(self, node: Node) -> NodeInfo:
        data: Mapping[str, Any] = node.extra
        properties: Mapping[str, Any] = data.get("properties") or {}
        tags = {str(k): str(v) for k, v in (data.get("tags") or {}).items()}
        token = tags.pop(TOKEN_TAG, "")
        spot = properties.get("priority") == "Spot"
        # A failed provisioning (e.g. AllocationFailed after the create was accepted)
        # never runs but still exists: stopped, so that it still gets deleted.
        failed = node.state == NodeState.ERROR
        status = NodeStatus.STOPPED if failed else node_status(node.state)
        return NodeInfo(
            node_id=str(node.id),
            cloud=CLOUD,
            region=str(data.get("location") or ""),
            instance_type=str((properties.get("hardwareProfile") or {}).get("vmSize") or ""),
            market=Market.SPOT if spot else Market.ON_DEMAND,
            status=status,
            tags=tags,
            created_at=parse_utc(properties.get("timeCreated")),
            # skybatch deletes its VMs and never deallocates them: a deallocated spot VM
            # was evicted.
            preempted=spot and node.state == NodeState.STOPPED,
            client_token=token,
        )

    def map_error(self, exc: Exception) -> CloudError | None:
        return map_azure_error(exc)


def make_azure_cloud(
    config: AzureConfig, *, driver_cls: type[SkybatchAzureDriver] = SkybatchAzureDriver
) -> LibcloudCloud:
    """The Azure subscription of ``config`` as a :class:`~adapters.base.CloudPort`.

    Makes no API call (the driver logs in on its first request). ``driver_cls`` is for
    tests that swap the transport.
    """
    if not config.regions:
        raise CloudConfigError("an Azure cloud needs at least one region")
    profile = AzureProfile(config)
    try:
        driver = driver_cls(
            config.tenant_id,
            config.subscription_id,
            config.client_id,
            config.client_secret,
            cloud_environment=config.cloud_environment,
            ex_regions=config.regions,
        )
    except Exception as exc:
        raise (profile.map_error(exc) or map_libcloud_error(exc)) from exc
    return LibcloudCloud(driver, cloud=CLOUD, profile=profile, quotas=config.quotas)
