"""Google Compute Engine as a skybatch cloud, through libcloud's GCE driver.

:func:`make_gce_cloud` returns the generic :class:`~adapters.libcloud_compute.LibcloudCloud`
over :class:`~adapters.clouds.gce_driver.SkybatchGCEDriver`; :class:`GCEProfile` holds
what GCE does differently:

- **Offerings** are the machine types ``list_sizes`` reports in each configured zone,
  on-demand and spot, priced from libcloud's bundled ``compute.gce_instances`` (per
  machine family a vCPU and a GiB price per region, ``on_demand`` and ``preemptible``),
  or from a catalog (:mod:`adapters.clouds.prices`). Shared-core types are not sold;
  GPU machine types only when the catalog prices them. Spot draws from GCE's own
  preemptible quotas (``separate_spot_quota``).
- **Spot** is ``ex_preemptible=True``: libcloud 3.9.1's ``create_node`` has no
  ``provisioningModel: SPOT``. Preemptible VMs are billed at the same prices as Spot
  VMs but are stopped after 24 hours.
- **Tags** become GCE labels, which allow only lowercase letters, digits, ``_`` and
  ``-``, at most 63 characters, keys starting with a letter: :func:`gce_labels`
  lowercases, replaces anything else with ``_``, truncates, and prefixes ``k`` to a key
  that does not start with a letter. That is lossy (a tenant ``Team-A`` becomes
  ``team-a``), so the exact tags also go into the instance metadata
  (``skybatch-tags``, JSON) and :meth:`GCEProfile.node_info` reads them from there,
  falling back to the labels for instances launched without it.
- **User data** is the ``startup-script`` metadata item.
- **Idempotency**: the instance is named after the token and the token is kept in the
  ``skybatch-token`` metadata item and label (see :mod:`adapters.clouds.gce_driver`).
- **Preemption**: GCE stops a preempted instance (``STOPPING``, then ``TERMINATED``)
  rather than deleting it. skybatch never stops its instances (it deletes them), so a
  preemptible instance in either state is reported ``preempted``.
- **Listing**: libcloud 3.9.1's ``list_nodes`` has no filter, so it lists every zone
  (one aggregated call) and tags are matched client-side.
- **Errors**: :mod:`adapters.clouds.gce_errors`.

Credentials: a service-account JSON key file (``GOOGLE_APPLICATION_CREDENTIALS``). libcloud
caches the OAuth token it gets in ``token_cache_file`` (default
``~/.google_libcloud_auth.<project>``, mode 0600).
"""

from __future__ import annotations

import json
import os
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize
from libcloud.compute.drivers.gce import GCENodeImage

from adapters.base import (
    CloudError,
    Market,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaLimit,
)
from adapters.catalog.defaults import DEFAULT_SPOT_HAZARD_PER_HOUR
from adapters.catalog.defaults import launch_delay_s as default_launch_delay_s
from adapters.catalog.gcp_gpus import is_gpu_host
from adapters.clouds.config import CloudConfigError, env_list, env_value, required_env
from adapters.clouds.gce_driver import TOKEN_METADATA_KEY, SkybatchGCEDriver, metadata_items
from adapters.clouds.gce_errors import map_gce_error
from adapters.clouds.prices import (
    PRICE_QUANTUM,
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
    parse_utc,
)

CLOUD = "gcp"
PRICING_SECTION = "gce_instances"
API_ROOT = "https://www.googleapis.com/compute/v1/"
DEFAULT_IMAGE = "projects/debian-cloud/global/images/family/debian-12"

STARTUP_SCRIPT_KEY = "startup-script"
TAGS_METADATA_KEY = "skybatch-tags"
TOKEN_LABEL = "skybatch-token"

#: Shared-core machine types: billed for a fraction of their vCPUs, not batch material.
SHARED_CORE_TYPES = frozenset({"e2-micro", "e2-small", "e2-medium", "f1-micro", "g1-small"})

_STATUS_BY_GCE_STATUS: Mapping[str, NodeStatus] = {
    "PROVISIONING": NodeStatus.PENDING,
    "STAGING": NodeStatus.PENDING,
    "RUNNING": NodeStatus.RUNNING,
    # libcloud maps STOPPING to pending; for us it is on its way to stopped.
    "STOPPING": NodeStatus.STOPPED,
    "SUSPENDING": NodeStatus.STOPPED,
    "SUSPENDED": NodeStatus.STOPPED,
    "TERMINATED": NodeStatus.STOPPED,
}
_STOPPED_BY_GCE = frozenset({"STOPPING", "TERMINATED"})
_MARKET_PRICE_KEY: Mapping[Market, str] = {
    Market.ON_DEMAND: "on_demand",
    Market.SPOT: "preemptible",
}
# libcloud's classes are unannotated; this is the constructor's type as used here.
_GCE_IMAGE: Callable[..., NodeImage] = GCENodeImage
_LABEL_UNSAFE = re.compile(r"[^a-z0-9_-]")
_LABEL_MAX = 63


@dataclass(frozen=True)
class GCEConfig:
    """What a GCE project needs to be a skybatch cloud. Nothing here is secret: the key
    stays in ``credentials_file``."""

    project: str
    #: Zones to sell and launch in, e.g. ``("us-central1-a", "us-central1-b")``.
    zones: tuple[str, ...]
    #: A service-account JSON key file.
    credentials_file: Path
    #: Boot image: ``projects/P/global/images/family/F``, ``projects/P/global/images/I``,
    #: a full URL, or an image name in ``project``.
    image: str = DEFAULT_IMAGE
    network: str = "default"
    subnetwork: str | None = None
    #: An ephemeral external IP, so that the worker can reach the server without Cloud NAT.
    external_ip: bool = True
    disk_type: str = "pd-balanced"
    disk_size_gb: int = 20
    #: Service account the nodes run as (None: none), and its scopes (libcloud aliases).
    node_service_account: str | None = "default"
    node_scopes: tuple[str, ...] = ("storage-rw",)
    quotas: tuple[QuotaLimit, ...] = ()
    #: Offerings from :mod:`adapters.catalog` whose prices win over libcloud's.
    price_catalog: tuple[Offering, ...] = field(default=(), repr=False)
    spot_hazard_per_hour: float = DEFAULT_SPOT_HAZARD_PER_HOUR
    launch_delay_s: float = default_launch_delay_s(CLOUD)
    #: Where libcloud caches the OAuth token (None: libcloud's default in the home dir).
    token_cache_file: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> GCEConfig:
        """From ``SKYBATCH_GCE_PROJECT`` (or ``GOOGLE_CLOUD_PROJECT``),
        ``SKYBATCH_GCE_ZONES`` (comma-separated) and ``GOOGLE_APPLICATION_CREDENTIALS``;
        ``overrides`` set any other field."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "project": required_env(env, "SKYBATCH_GCE_PROJECT", "GOOGLE_CLOUD_PROJECT"),
            "zones": env_list(env, "SKYBATCH_GCE_ZONES"),
            "credentials_file": Path(required_env(env, "GOOGLE_APPLICATION_CREDENTIALS")),
        }
        image = env_value(env, "SKYBATCH_GCE_IMAGE")
        if image:
            values["image"] = image
        values.update(overrides)
        if not values["zones"]:
            raise CloudConfigError("set SKYBATCH_GCE_ZONES (comma-separated zones)")
        return cls(**values)


def gce_label_key(key: str) -> str:
    clean = _LABEL_UNSAFE.sub("_", key.lower())
    if not clean or clean[0] not in string.ascii_lowercase:
        clean = "k" + clean
    return clean[:_LABEL_MAX]


def gce_label_value(value: str) -> str:
    return _LABEL_UNSAFE.sub("_", value.lower())[:_LABEL_MAX]


def gce_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """``tags`` as valid GCE labels (lossy; see the module docstring)."""
    return {gce_label_key(k): gce_label_value(v) for k, v in tags.items()}


def image_url(image: str, project: str) -> str:
    if image.startswith("https://"):
        return image
    if image.startswith("projects/"):
        return API_ROOT + image
    return f"{API_ROOT}projects/{project}/global/images/{image}"


def gpu_count(accelerators: object) -> int:
    """GPUs built into a machine type (its ``accelerators``, e.g. a2-highgpu-1g)."""
    if not isinstance(accelerators, list):
        return 0
    return sum(
        int(a.get("guestAcceleratorCount") or 0) for a in accelerators if isinstance(a, Mapping)
    )


def _unit_price(family: str, resource: str, market: Market, region: str) -> Decimal | None:
    node: object = compute_prices(PRICING_SECTION)
    for key in (family, resource, _MARKET_PRICE_KEY[market], region):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return price(node.get("price")) if isinstance(node, Mapping) else None


def list_price(
    instance_type: str, region: str, market: Market, vcpus: int, memory_mb: int
) -> Decimal | None:
    """GCE's hourly price of a predefined machine type: vCPUs x vCPU price + GiB x GiB price."""
    family = instance_type.split("-", 1)[0]
    cpu = _unit_price(family, "cpu", market, region)
    ram = _unit_price(family, "ram", market, region)
    if cpu is None or ram is None:
        return None
    total = vcpus * cpu + Decimal(memory_mb) / 1024 * ram
    return total.quantize(PRICE_QUANTUM)


def _exact_tags(metadata: Mapping[str, str]) -> dict[str, str] | None:
    raw = metadata.get(TAGS_METADATA_KEY)
    if raw is None:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()
    ):
        return None
    return parsed


class GCEProfile(ProviderProfile):
    def __init__(self, config: GCEConfig) -> None:
        self._config = config
        self._catalog = CatalogPrices(config.price_catalog, cloud=CLOUD)
        self._provenance = pricing_provenance(PRICING_SECTION)

    def offerings_for(self, size: NodeSize, location: NodeLocation) -> list[Offering]:
        zone = str(location.name)
        region = zone.rsplit("-", 1)[0]
        instance_type = str(size.name)
        if instance_type in SHARED_CORE_TYPES:
            return []
        vcpus = int(size.extra.get("guestCpus") or 0)
        memory_mb = int(size.ram or 0)
        if vcpus <= 0 or memory_mb <= 0:
            return []
        gpus = gpu_count(size.extra.get("accelerators"))
        offerings: list[Offering] = []
        for market in (Market.ON_DEMAND, Market.SPOT):
            listed = self._catalog.find(region, zone, instance_type, market)
            if listed is not None:
                offerings.append(replace(listed, separate_spot_quota=True))
                continue
            if gpus or is_gpu_host(instance_type):
                continue  # libcloud's price list has no GPU prices
            hourly = list_price(instance_type, region, market, vcpus, memory_mb)
            if hourly is None:
                continue
            offerings.append(
                list_priced_offering(
                    CLOUD,
                    region=region,
                    zone=zone,
                    instance_type=instance_type,
                    market=market,
                    vcpus=float(vcpus),
                    memory_gib=memory_mb / 1024,
                    hourly=hourly,
                    spot_hazard_per_hour=self._config.spot_hazard_per_hour,
                    launch_delay_s=self._config.launch_delay_s,
                    provenance=self._provenance,
                )
            )
        return offerings

    def image_for(self, driver: NodeDriver, spec: NodeSpec) -> NodeImage:
        # A family or image URL is all instances.insert needs: no lookup call per launch.
        url = image_url(self._config.image, self._config.project)
        return _GCE_IMAGE(
            id=url, name=url.rsplit("/", 1)[-1], driver=driver, extra={"selfLink": url}
        )

    def launch_kwargs(
        self, spec: NodeSpec, token: str, size: NodeSize, image: NodeImage, location: NodeLocation
    ) -> dict[str, Any]:
        config = self._config
        spot = spec.offering.market is Market.SPOT
        metadata = {
            "items": [
                {"key": STARTUP_SCRIPT_KEY, "value": spec.user_data},
                {"key": TAGS_METADATA_KEY, "value": json.dumps(dict(spec.tags), sort_keys=True)},
                {"key": TOKEN_METADATA_KEY, "value": token},
            ]
        }
        kwargs: dict[str, Any] = {
            "ex_idempotency_token": token,
            "ex_labels": gce_labels({**spec.tags, TOKEN_LABEL: token}),
            "ex_metadata": metadata,
            "ex_preemptible": spot,
            "ex_network": config.network,
            "ex_subnetwork": config.subnetwork,
            "external_ip": "ephemeral" if config.external_ip else None,
            "ex_disk_type": config.disk_type,
            "ex_disk_size": config.disk_size_gb,
            "ex_service_accounts": (
                [{"email": config.node_service_account, "scopes": list(config.node_scopes)}]
                if config.node_service_account
                else []
            ),
            "description": spec.name,
        }
        if spot or spec.offering.gpu_count:
            # Preemptible and GPU instances cannot live-migrate.
            kwargs["ex_on_host_maintenance"] = "TERMINATE"
            kwargs["ex_automatic_restart"] = False
        return kwargs

    def list_kwargs(self, tags: Mapping[str, str]) -> dict[str, Any]:
        return {"ex_zone": "all"}

    def node_info(self, node: Node) -> NodeInfo:
        extra: Mapping[str, Any] = node.extra
        zone_obj = extra.get("zone")
        zone = str(getattr(zone_obj, "name", zone_obj) or "")
        scheduling = extra.get("scheduling") or {}
        spot = (
            scheduling.get("preemptible") is True or scheduling.get("provisioningModel") == "SPOT"
        )
        gce_status = str(extra.get("status") or "")
        metadata = metadata_items(extra.get("metadata"))
        labels = {str(k): str(v) for k, v in (extra.get("labels") or {}).items()}
        tags = _exact_tags(metadata)
        if tags is None:
            tags = {k: v for k, v in labels.items() if k != TOKEN_LABEL}
        return NodeInfo(
            node_id=str(node.id),
            cloud=CLOUD,
            region=zone.rsplit("-", 1)[0],
            instance_type=str(node.size or ""),
            market=Market.SPOT if spot else Market.ON_DEMAND,
            status=_STATUS_BY_GCE_STATUS.get(gce_status, NodeStatus.UNKNOWN),
            tags=tags,
            created_at=parse_utc(extra.get("creationTimestamp")),
            preempted=spot and gce_status in _STOPPED_BY_GCE,
            client_token=metadata.get(TOKEN_METADATA_KEY) or labels.get(TOKEN_LABEL, ""),
        )

    def map_error(self, exc: Exception) -> CloudError | None:
        return map_gce_error(exc)


def service_account_email(credentials_file: Path) -> str:
    """``client_email`` of a service-account key file (the file's secrets stay in it)."""
    try:
        data = json.loads(credentials_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CloudConfigError(
            f"cannot read GCE credentials {credentials_file}: {exc.strerror}"
        ) from exc
    except ValueError as exc:
        raise CloudConfigError(f"GCE credentials {credentials_file} are not JSON") from exc
    email = data.get("client_email") if isinstance(data, dict) else None
    if not isinstance(email, str) or not email:
        raise CloudConfigError(
            f"GCE credentials {credentials_file} are not a service-account key (no client_email)"
        )
    return email


def make_gce_cloud(
    config: GCEConfig, *, driver_cls: type[SkybatchGCEDriver] = SkybatchGCEDriver
) -> LibcloudCloud:
    """The GCE project of ``config`` as a :class:`~adapters.base.CloudPort`.

    Authenticates when the driver is made (libcloud fetches a token unless one is
    cached); failures raise a :class:`~adapters.base.CloudError`, a missing or bad key
    file :class:`~adapters.clouds.config.CloudConfigError`. ``driver_cls`` is for tests
    that swap the transport.
    """
    if not config.zones:
        raise CloudConfigError("a GCE cloud needs at least one zone")
    profile = GCEProfile(config)
    email = service_account_email(config.credentials_file)
    token_cache = str(config.token_cache_file) if config.token_cache_file else None
    try:
        driver = driver_cls(
            email,
            str(config.credentials_file),
            project=config.project,
            auth_type="SA",
            credential_file=token_cache,
            ex_zones=config.zones,
        )
    except Exception as exc:
        raise (profile.map_error(exc) or map_libcloud_error(exc)) from exc
    return LibcloudCloud(driver, cloud=CLOUD, profile=profile, quotas=config.quotas)
