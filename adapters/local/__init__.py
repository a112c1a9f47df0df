"""The local cloud: a libcloud provider whose nodes are process groups on this machine.

``make_local_cloud(config)`` gives the driver and the :class:`~adapters.base.CloudPort`
over it, which is what the demo and the end-to-end tests run the scheduler against.
"""

from __future__ import annotations

from adapters.base import QuotaLimit, quota_pool
from adapters.libcloud_compute import LibcloudCloud
from adapters.local.billing import LocalBilling, PriceRule, focus_rows
from adapters.local.catalog import DEFAULT_REGIONS, InstanceType, build_catalog
from adapters.local.driver import (
    LocalCloudConfig,
    LocalCloudError,
    LocalNodeDriver,
    UsageRecord,
)
from adapters.local.preemption import PreemptionPolicy, ScheduledPreemption
from adapters.local.profile import CLOUD, LocalProfile

__all__ = [
    "CLOUD",
    "DEFAULT_REGIONS",
    "InstanceType",
    "LocalBilling",
    "LocalCloudConfig",
    "LocalCloudError",
    "LocalNodeDriver",
    "LocalProfile",
    "PreemptionPolicy",
    "PriceRule",
    "ScheduledPreemption",
    "UsageRecord",
    "build_catalog",
    "focus_rows",
    "make_local_cloud",
]


def make_local_cloud(config: LocalCloudConfig) -> tuple[LocalNodeDriver, LibcloudCloud]:
    """A started local cloud and its port. Call ``driver.close()`` when done (nodes
    keep running until terminated, like VMs)."""
    driver = LocalNodeDriver(config)
    quotas = [
        QuotaLimit(quota_pool(CLOUD, region, "vcpu"), config.vcpu_quota_per_region)
        for region in config.regions
    ]
    cloud = LibcloudCloud(driver, cloud=CLOUD, profile=LocalProfile(config), quotas=quotas)
    driver.start()
    return driver, cloud
