"""What the local cloud does differently from other libcloud providers.

The generic :class:`~adapters.libcloud_compute.LibcloudCloud` drives
:class:`~adapters.local.driver.LocalNodeDriver` through this profile: offerings come
from the sizes' ``extra`` (exact Decimal prices as strings), spot is ``ex_spot``,
idempotency is EC2-style ``ex_clienttoken``, and the driver's error codes map to the
port's errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from libcloud.compute.base import Node, NodeDriver, NodeImage, NodeLocation, NodeSize

from adapters.base import (
    CapacityError,
    CloudError,
    Market,
    NodeInfo,
    NodeSpec,
    Offering,
    QuotaError,
)
from adapters.libcloud_compute import ProviderProfile, node_status
from adapters.local.driver import IMAGE_ID, LocalCloudConfig, LocalCloudError

CLOUD = "local"

#: Spot hazard the optimizer is told when the policy has no random preemptions:
#: scheduled preemptions still happen, so spot must not look risk-free.
DEFAULT_SPOT_HAZARD_PER_HOUR = 0.1

#: Seconds from a launch request to a worker that reports in, beyond the boot delay.
WORKER_STARTUP_S = 2.0


class LocalProfile(ProviderProfile):
    def __init__(self, config: LocalCloudConfig) -> None:
        self._config = config

    def offerings_for(self, size: NodeSize, location: NodeLocation) -> list[Offering]:
        extra = size.extra
        # The planner works in wall-clock hours; the policy's hazard is per simulated hour.
        # Only the catalog prior is advertised: the true per-region rates
        # (policy.hazard_by_region) are for the scheduler to learn from history.
        policy = self._config.preemption
        hazard = policy.hazard_per_hour * policy.time_scale
        common: dict[str, Any] = {
            "cloud": CLOUD,
            "region": location.id,
            "zone": str(extra["zone"]),
            "instance_type": size.id,
            "vcpus": float(extra["vcpus"]),
            "memory_gib": float(extra["memory_gib"]),
            "gpu_count": int(extra["gpu_count"]),
            "gpu_type": str(extra["gpu_type"]),
            "launch_delay_s": self._config.launch_delay_s + WORKER_STARTUP_S,
        }
        return [
            Offering(market=Market.ON_DEMAND, price_per_hour=Decimal(extra["price"]), **common),
            Offering(
                market=Market.SPOT,
                price_per_hour=Decimal(extra["spot_price"]),
                preemption_hazard_per_hour=hazard if hazard > 0 else DEFAULT_SPOT_HAZARD_PER_HOUR,
                **common,
            ),
        ]

    def image_for(self, driver: NodeDriver, spec: NodeSpec) -> NodeImage:
        return next(i for i in driver.list_images() if i.id == IMAGE_ID)

    def launch_kwargs(
        self, spec: NodeSpec, token: str, size: NodeSize, image: NodeImage, location: NodeLocation
    ) -> dict[str, Any]:
        return {
            "ex_userdata": spec.user_data,
            "ex_tags": dict(spec.tags),
            "ex_clienttoken": token,
            "ex_spot": spec.offering.market == Market.SPOT,
        }

    def list_kwargs(self, tags: Mapping[str, str]) -> dict[str, Any]:
        return {"ex_filters": dict(tags)}

    def node_info(self, node: Node) -> NodeInfo:
        extra = node.extra
        return NodeInfo(
            node_id=str(node.id),
            cloud=CLOUD,
            region=extra["region"],
            instance_type=extra["instance_type"],
            market=Market(extra["market"]),
            status=node_status(node.state),
            tags=dict(extra["tags"]),
            created_at=datetime.fromisoformat(extra["created_at"]),
            preempted=bool(extra["preempted"]),
            client_token=extra["client_token"],
        )

    def map_error(self, exc: Exception) -> CloudError | None:
        if not isinstance(exc, LocalCloudError):
            return None
        if exc.code == "VcpuLimitExceeded":
            return QuotaError(str(exc), code=exc.code, limit=exc.limit)
        if exc.code == "InsufficientInstanceCapacity":
            return CapacityError(str(exc), code=exc.code)
        return CloudError(str(exc), code=exc.code)
