"""GCE and Azure cloud adapters on libcloud's recorded responses, for the contract suite.

:func:`gce_recorded` and :func:`azure_recorded` return the real adapters
(:func:`~adapters.clouds.gce.make_gce_cloud`, :func:`~adapters.clouds.azure.make_azure_cloud`)
whose libcloud driver talks to libcloud's own ``MockHttp`` harness (``GCEMockHttp``,
``AzureMockHttp``, the recordings shipped in ``libcloud/test/compute/fixtures``) through
a small in-memory world (:mod:`tests.recorded.gce`, :mod:`tests.recorded.azure`) that
remembers what was created.

What the recordings support, per port operation:

- ``list_offerings``: yes, from recorded catalogs: GCE's machine types of
  ``us-central1-a`` (n1-*, a2-highgpu-1g without a catalog price is not sold, shared-core
  f1/g1 are not sold) and Azure's VM sizes of ``eastus`` (Standard_A0..A2; A0 has no
  spot price, so it is sold on demand only). Prices from libcloud's ``pricing.json``.
- ``quotas``: what the config says (nothing is recorded).
- ``launch``: yes, on-demand and spot. The request goes through libcloud's real request
  building; the created instance/VM is libcloud's recorded one with the request's
  name, labels/tags, metadata/custom data and scheduling/priority. A repeated token
  returns the same node (found by listing; GCE's "already exists" and Azure's
  "name taken" paths are unit-tested). State changes are real within the world, so the
  suite may treat these adapters as ``live``.
- ``list_nodes``: yes: libcloud's recorded foreign instances/VMs plus ours, filtered by
  tags on the client (neither driver filters on the server in libcloud 3.9.1).
- ``terminate``: yes; ours are deleted (GCE: a delete operation; Azure: one DELETE that
  takes the NIC and disk along), unknown ids are silent, foreign ones untouched.
- Errors: scripted with our payloads in the providers' documented formats
  (``tests/data/recorded``), see :func:`gce_error_cases` and :func:`azure_error_cases`.

Not modelled: time (a launched node is running at once, an Azure VM one read after its
PUT), list pagination, eventual consistency (except as scripted in unit tests), real
preemption (``world.preempt`` / ``world.evict`` simulate it).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    AuthError,
    CapacityError,
    CloudError,
    Market,
    NodeSpec,
    QuotaError,
    ThrottledError,
)
from adapters.clouds.gce_driver import metadata_items
from adapters.libcloud_compute import LibcloudCloud
from tests.recorded.azure import AzureWorld, azure_recorded_cloud
from tests.recorded.gce import GCEWorld, gce_recorded_cloud

#: name -> (the port error it must raise, the call that provokes it)
ErrorCases = dict[str, tuple[type[CloudError], Callable[[], object]]]
_INSTANCES = r"/zones/[^/]+/instances"
_VM = (
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines/[^/]+"
)
_VMS = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines"
_TOKEN = r"/[^/]+/oauth2/token"


def gce_recorded() -> LibcloudCloud:
    """The GCE adapter on libcloud's recorded GCE responses (project ``project_name``)."""
    return gce_recorded_cloud()[0]


def azure_recorded() -> LibcloudCloud:
    """The Azure adapter on libcloud's recorded Azure responses (resource group ``000000``)."""
    return azure_recorded_cloud()[0]


def gce_world(cloud: LibcloudCloud) -> GCEWorld:
    """The world behind a :func:`gce_recorded` cloud."""
    world: GCEWorld = getattr(cloud.driver.connectionCls.conn_class, "world")  # noqa: B009
    return world


def azure_world(cloud: LibcloudCloud) -> AzureWorld:
    """The world behind an :func:`azure_recorded` cloud."""
    world: AzureWorld = getattr(cloud.driver.connectionCls.conn_class, "world")  # noqa: B009
    return world


# -- the cloud seen without the port (for the live checks) ---------------------------------


def gce_count_nodes(cloud: LibcloudCloud, tags: Mapping[str, str]) -> int:
    """Running or starting instances carrying ``tags`` (read from the world's metadata)."""
    count = 0
    for instance in gce_world(cloud).live_instances():
        exact = metadata_items(instance.get("metadata")).get("skybatch-tags")
        carried = _json_tags(exact) if exact else dict(instance.get("labels") or {})
        count += all(carried.get(k) == v for k, v in tags.items())
    return count


def gce_make_stray(cloud: LibcloudCloud) -> str:
    return gce_world(cloud).add_stray(f"stray-{uuid.uuid4().hex[:8]}")


def gce_node_alive(cloud: LibcloudCloud, node_id: str) -> bool:
    return any(str(i["id"]) == node_id for i in gce_world(cloud).live_instances())


def azure_count_nodes(cloud: LibcloudCloud, tags: Mapping[str, str]) -> int:
    return sum(
        all((vm.get("tags") or {}).get(k) == v for k, v in tags.items())
        for vm in azure_world(cloud).live_vms()
    )


def azure_make_stray(cloud: LibcloudCloud) -> str:
    return azure_world(cloud).add_stray(f"stray-{uuid.uuid4().hex[:8]}")


def azure_node_alive(cloud: LibcloudCloud, node_id: str) -> bool:
    return any(vm["id"] == node_id for vm in azure_world(cloud).live_vms())


# -- error cases ---------------------------------------------------------------------------


def _launcher(cloud: LibcloudCloud, market: Market = Market.ON_DEMAND) -> Callable[[], object]:
    def launch() -> object:
        offering = min(
            (o for o in cloud.list_offerings() if o.market is market),
            key=lambda o: o.price_per_hour,
        )
        token = f"a-{uuid.uuid4().hex[:16]}"
        return cloud.launch(NodeSpec(offering, f"skybatch-{token}", "true"), token=token)

    return launch


def _listing(cloud: LibcloudCloud) -> Callable[[], object]:
    return lambda: cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE})


def gce_error_cases(cloud: LibcloudCloud) -> ErrorCases:
    """Recorded GCE failures and the port error each must come out as."""
    world = gce_world(cloud)
    launch, spot_launch, listing = _launcher(cloud), _launcher(cloud, Market.SPOT), _listing(cloud)

    def after(script: Callable[[], None], call: Callable[[], object]) -> Callable[[], object]:
        def provoke() -> object:
            script()
            return call()

        return provoke

    return {
        "QUOTA_EXCEEDED operation": (
            QuotaError,
            after(
                lambda: world.fail_next_insert_operation("operation_quota_exceeded.json"), launch
            ),
        ),
        "preemptible quota 403": (
            QuotaError,
            after(
                lambda: world.fail_next("POST", _INSTANCES, 403, "insert_quota_exceeded_403.json"),
                spot_launch,
            ),
        ),
        "ZONE_RESOURCE_POOL_EXHAUSTED": (
            CapacityError,
            after(
                lambda: world.fail_next_insert_operation(
                    "operation_zone_resource_pool_exhausted.json"
                ),
                launch,
            ),
        ),
        "rate limited 429": (
            ThrottledError,
            after(
                lambda: world.fail_next(
                    "GET", "/aggregated/instances", 429, "too_many_requests_429.json"
                ),
                listing,
            ),
        ),
        "backend error 503": (
            ThrottledError,
            after(
                lambda: world.fail_next("POST", _INSTANCES, 503, "backend_error_503.json"), launch
            ),
        ),
        "invalid credentials 401": (
            AuthError,
            after(
                lambda: world.fail_next(
                    "GET", "/aggregated/instances", 401, "unauthorized_401.json"
                ),
                listing,
            ),
        ),
    }


def azure_error_cases(cloud: LibcloudCloud) -> ErrorCases:
    """Recorded Azure failures and the port error each must come out as."""
    world = azure_world(cloud)
    launch, spot_launch, listing = _launcher(cloud), _launcher(cloud, Market.SPOT), _listing(cloud)

    def after(
        method: str, path: str, status: int, fixture: str, call: Callable[[], object], **kw: Any
    ) -> Callable[[], object]:
        def provoke() -> object:
            world.fail_next(method, path, status, fixture, **kw)
            return call()

        return provoke

    return {
        "QuotaExceeded (spot vCPUs)": (
            QuotaError,
            after("PUT", _VM, 409, "quota_exceeded_spot_409.json", spot_launch),
        ),
        "OperationNotAllowed (cores quota)": (
            QuotaError,
            after("PUT", _VM, 409, "operation_not_allowed_quota_409.json", launch),
        ),
        "SkuNotAvailable": (
            CapacityError,
            after("PUT", _VM, 409, "sku_not_available_409.json", launch),
        ),
        "AllocationFailed": (
            CapacityError,
            after("PUT", _VM, 409, "allocation_failed_409.json", launch),
        ),
        "TooManyRequests 429": (
            ThrottledError,
            after(
                "GET",
                _VMS,
                429,
                "too_many_requests_429.json",
                listing,
                headers={"retry-after": "17"},
            ),
        ),
        "InternalServerError 500": (
            ThrottledError,
            after("PUT", _VM, 500, "internal_server_error_500.json", launch),
        ),
        "AuthorizationFailed 403": (
            AuthError,
            after("PUT", _VM, 403, "authorization_failed_403.json", launch),
        ),
        "invalid client secret": (
            AuthError,
            after("POST", _TOKEN, 401, "token_invalid_client_401.json", listing),
        ),
    }


def _json_tags(raw: str) -> dict[str, str]:
    parsed: Any = json.loads(raw)
    return {str(k): str(v) for k, v in parsed.items()} if isinstance(parsed, dict) else {}
