"""AWS EC2 through libcloud: the provider profile and ``make_ec2_cloud``.

What EC2 does differently from the generic libcloud path:

- **Offerings.** Sizes and on-demand prices come from the driver's ``list_sizes()``
  (libcloud's shipped ``pricing.json``, no API call), once per availability zone the
  region reports as available (or the configured ones). Each priced size is sold
  on-demand and spot. Spot prices and interruption hazards come from
  :attr:`Ec2Config.spot_quotes` (see :func:`spot_quotes_from_advisor`, which reads the
  AWS Spot Instance Advisor data through :mod:`adapters.catalog`); a type without a
  quote gets the assumed discount and band of :mod:`adapters.catalog.defaults`. Spot
  draws from its own quota pools (``separate_spot_quota``), as AWS keeps spot vCPU
  quotas apart.
- **Launch.** ``ClientToken`` is the idempotency token, so a retried ``RunInstances``
  never makes a second instance. Tags go on the instance (``TagSpecification``) and on
  its volumes (see :mod:`adapters.clouds.ec2_driver`). Spot is
  ``InstanceMarketOptions`` with the on-demand price as the maximum. The user data is
  the boot script; the zone is the location.
- **Nodes.** Tags, the market (``instanceLifecycle``), the client token and the state
  reason code (a spot interruption is a preemption) come from ``DescribeInstances``,
  filtered by tag on the server.
- **Errors.** EC2 error codes map to the port's errors (:mod:`adapters.clouds.ec2_errors`).

A libcloud EC2 driver, and so a :class:`LibcloudCloud` made here, serves one region.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import libcloud
from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize

from adapters.base import (
    AuthError,
    CloudError,
    Market,
    NodeInfo,
    NodeSpec,
    Offering,
    QuotaLimit,
)
from adapters.catalog import GPU_BY_FAMILY, AwsSources, load_aws
from adapters.catalog.defaults import (
    AWS_SPOT_BAND_WITHOUT_ADVISOR,
    AWS_SPOT_SAVINGS_PERCENT_WITHOUT_ADVISOR,
    hazard_from_band,
    launch_delay_s,
)
from adapters.clouds.aws_auth import AwsCredentials, MissingCredentialsError
from adapters.clouds.ec2_driver import SkybatchEc2Driver
from adapters.clouds.ec2_errors import map_ec2_error
from adapters.libcloud_compute import LibcloudCloud, ProviderProfile, node_status

CLOUD = "aws"

#: ``stateReason`` codes of an instance AWS stopped or terminated to take back spot
#: capacity (API reference, ``StateReason``).
SPOT_INTERRUPTION_CODES = frozenset(
    {"Server.SpotInstanceTermination", "Server.SpotInstanceShutdown"}
)

#: EC2 accepts client tokens of up to 64 ASCII characters.
MAX_CLIENT_TOKEN = 64

# The driver's constructor is unannotated; its interface is NodeDriver's.
_EC2_DRIVER: Callable[..., SkybatchEc2Driver] = SkybatchEc2Driver

_ON_DEMAND_SOURCE = f"apache-libcloud {libcloud.__version__} libcloud/data/pricing.json"


@dataclass(frozen=True)
class SpotQuote:
    """The spot price of an instance type in the region, and how often it is taken back."""

    price_per_hour: Decimal
    hazard_per_hour: float
    source: str = ""
    source_date: str = ""


@dataclass(frozen=True)
class Ec2Config:
    """One EC2 region. ``credentials`` None: from the environment (``AWS_*``).

    ``zones`` and ``instance_types`` empty mean every available zone and every size
    libcloud has a price for. ``host``/``port``/``secure`` point the driver at another
    endpoint (a local moto server in the tests).
    """

    ami: str
    region: str = "us-east-1"
    zones: tuple[str, ...] = ()
    instance_types: tuple[str, ...] = ()
    spot_quotes: Mapping[str, SpotQuote] = field(default_factory=dict)
    quotas: tuple[QuotaLimit, ...] = ()
    credentials: AwsCredentials | None = None
    host: str | None = None
    port: int | None = None
    secure: bool = True
    cloud: str = CLOUD
    launch_delay_s: float = launch_delay_s(CLOUD)
    catalog_ttl_s: float = 300.0


def spot_quotes_from_advisor(
    advisor: Path, region: str, *, source: str = "", source_date: str = ""
) -> dict[str, SpotQuote]:
    """Spot quotes per instance type of ``region`` from the AWS Spot Instance Advisor
    data (``spot-advisor-data.json``), priced against libcloud's on-demand prices."""
    sources = AwsSources(
        spot_advisor=advisor, spot_advisor_source=source, spot_advisor_date=source_date
    )
    offerings, _ = load_aws(sources, keep_region=lambda r: r == region)
    return {
        o.instance_type: SpotQuote(
            o.price_per_hour, o.preemption_hazard_per_hour, o.source, o.source_date
        )
        for o in offerings
        if o.market is Market.SPOT
    }


class Ec2Profile(ProviderProfile):
    def __init__(self, config: Ec2Config) -> None:
        self._config = config
        self._image: NodeImage | None = None

    def offerings_for(self, size: NodeSize, location: NodeLocation) -> list[Offering]:
        config = self._config
        zone = _zone_of(location)
        if zone is None or (config.zones and zone not in config.zones):
            return []
        if config.instance_types and size.id not in config.instance_types:
            return []
        shape = _shape(size)
        if shape is None or not size.price or size.price <= 0:
            return []
        vcpus, memory_gib, gpu_count, gpu_type = shape
        on_demand = Offering(
            cloud=config.cloud,
            region=config.region,
            zone=zone,
            instance_type=size.id,
            market=Market.ON_DEMAND,
            vcpus=vcpus,
            memory_gib=memory_gib,
            gpu_count=gpu_count,
            gpu_type=gpu_type,
            price_per_hour=Decimal(str(size.price)),
            launch_delay_s=config.launch_delay_s,
            source=f"{_ON_DEMAND_SOURCE} compute.ec2_linux",
            separate_spot_quota=True,
        )
        quote = config.spot_quotes.get(size.id)
        if quote is None:
            savings = AWS_SPOT_SAVINGS_PERCENT_WITHOUT_ADVISOR
            quote = SpotQuote(
                on_demand.price_per_hour * (100 - savings) / 100,
                hazard_from_band(AWS_SPOT_BAND_WITHOUT_ADVISOR),
                f"{on_demand.source} less an assumed {savings}% (adapters.catalog.defaults)",
            )
        spot = replace(
            on_demand,
            market=Market.SPOT,
            price_per_hour=quote.price_per_hour,
            preemption_hazard_per_hour=quote.hazard_per_hour,
            source=quote.source,
            source_date=quote.source_date,
        )
        return [on_demand, spot]

    def image_for(self, driver: NodeDriver, spec: NodeSpec) -> NodeImage:
        """The configured AMI, looked up once (an unknown id is an error here, before
        any instance is asked for)."""
        if self._image is None:
            ami = self._config.ami
            list_images: Callable[..., list[NodeImage]] = driver.list_images
            found = [i for i in list_images(ex_image_ids=[ami]) if i.id == ami]
            if not found:
                raise CloudError(
                    f"AMI {ami} does not exist in {self._config.region}",
                    code="InvalidAMIID.NotFound",
                )
            self._image = found[0]
        return self._image

    def launch_kwargs(
        self, spec: NodeSpec, token: str, size: NodeSize, image: NodeImage, location: NodeLocation
    ) -> dict[str, Any]:
        if len(token) > MAX_CLIENT_TOKEN or not token.isascii():
            raise CloudError(
                f"EC2 client tokens are at most {MAX_CLIENT_TOKEN} ASCII characters",
                code="InvalidParameterValue",
            )
        tags = dict(spec.tags)
        kwargs: dict[str, Any] = {
            "ex_userdata": spec.user_data,
            "ex_metadata": tags,
            "ex_volume_tags": tags,
            "ex_clienttoken": token,
        }
        if spec.offering.market is Market.SPOT:
            kwargs["ex_spot"] = True
            if size.price:
                kwargs["ex_spot_max_price"] = str(Decimal(str(size.price)))
        return kwargs

    def node_info(self, node: Node) -> NodeInfo:
        extra = node.extra
        spot = extra.get("instance_lifecycle") == "spot"
        reason = str(extra.get("state_reason_code") or "")
        created_at = node.created_at.astimezone(UTC) if node.created_at else None
        return NodeInfo(
            node_id=str(node.id),
            cloud=self._config.cloud,
            region=self._config.region,
            instance_type=str(extra.get("instance_type") or ""),
            market=Market.SPOT if spot else Market.ON_DEMAND,
            status=node_status(node.state),
            tags=dict(extra.get("tags") or {}),
            created_at=created_at,
            preempted=spot and reason in SPOT_INTERRUPTION_CODES,
            client_token=str(extra.get("client_token") or ""),
        )

    def map_error(self, exc: Exception) -> CloudError | None:
        return map_ec2_error(exc)

    def list_kwargs(self, tags: Mapping[str, str]) -> dict[str, Any]:
        if not tags:
            return {}
        return {"ex_filters": {f"tag:{key}": value for key, value in tags.items()}}


def make_ec2_cloud(config: Ec2Config, *, environ: Mapping[str, str] | None = None) -> LibcloudCloud:
    """The cloud port over EC2 in ``config.region``, with ``config.credentials`` or else
    those in ``environ`` (by default the process environment); :class:`AuthError` when
    there are none. No API call is made until the port is used."""
    try:
        credentials = config.credentials or AwsCredentials.from_env(environ)
    except MissingCredentialsError as exc:
        raise AuthError(str(exc), code="MissingCredentials") from exc
    driver = _EC2_DRIVER(
        credentials.access_key,
        credentials.secret_key,
        secure=config.secure,
        host=config.host,
        port=config.port,
        region=config.region,
        token=credentials.session_token or None,
        # SigV4 everywhere: newer regions accept nothing else.
        signature_version="4",
    )
    return LibcloudCloud(
        driver,
        cloud=config.cloud,
        profile=Ec2Profile(config),
        quotas=config.quotas,
        catalog_ttl_s=config.catalog_ttl_s,
    )


def _zone_of(location: NodeLocation) -> str | None:
    """The availability zone of an EC2 location, if it is available."""
    zone = getattr(location, "availability_zone", None)
    if zone is None or getattr(zone, "zone_state", "available") != "available":
        return None
    return str(zone.name)


def _shape(size: NodeSize) -> tuple[float, float, int, str] | None:
    """(vCPUs, memory GiB, GPUs, GPU type) of a size; None when libcloud's data lacks
    one of them (the catalog skips such sizes too)."""
    try:
        vcpus = float(size.extra.get("vcpu") or 0)
        gpus = int(size.extra.get("gpu") or 0)
    except (TypeError, ValueError):
        return None
    gpu_type = GPU_BY_FAMILY.get(str(size.id).split(".", 1)[0], "") if gpus else ""
    if vcpus <= 0 or not size.ram or (gpus and not gpu_type):
        return None
    return vcpus, size.ram / 1024, gpus, gpu_type
