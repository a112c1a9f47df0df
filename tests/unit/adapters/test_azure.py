"""The Azure adapter on libcloud's recorded Azure responses (tests/recorded/azure.py)."""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from libcloud.common.exceptions import BaseHTTPError
from libcloud.compute.base import NodeLocation, NodeSize

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    AuthError,
    CapacityError,
    CloudError,
    Market,
    NodeSpec,
    NodeStatus,
    Offering,
    QuotaError,
    ThrottledError,
)
from adapters.clouds.azure import CLOUD, AzureConfig, AzureProfile, price_key
from adapters.clouds.azure_errors import map_azure_error
from adapters.clouds.config import CloudConfigError
from adapters.clouds.prices import compute_prices
from adapters.libcloud_compute import LibcloudCloud
from tests.recorded.azure import (
    REGION,
    RESOURCE_GROUP,
    SUBNET_ID,
    AzureWorld,
    azure_recorded_cloud,
    recorded_azure_config,
)

TOKEN = "a-0123456789abcdef"
NAME = f"skybatch-{TOKEN}"
TAGS = {
    "skybatch-job": "j-1f2e3d4c5b6a7980",
    "skybatch-attempt": TOKEN,
    "skybatch-tenant": "Team-A",
}
VM = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines/[^/]+"
VMS = r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/virtualMachines"
TOKEN_PATH = r"/[^/]+/oauth2/token"
USER_DATA = "#!/bin/sh\nexec skybatch-worker --attempt a-0123456789abcdef\n"


@pytest.fixture
def azure() -> tuple[LibcloudCloud, AzureWorld]:
    return azure_recorded_cloud()


def offering(cloud: LibcloudCloud, instance_type: str, market: Market) -> Offering:
    [found] = [
        o for o in cloud.list_offerings() if o.instance_type == instance_type and o.market is market
    ]
    return found


def spec(cloud: LibcloudCloud, market: Market = Market.ON_DEMAND) -> NodeSpec:
    return NodeSpec(
        offering(cloud, "Standard_A1", market), "skybatch-j-1f2e3d4c5b6a7980-1", USER_DATA, TAGS
    )


def api_calls(world: AzureWorld, method: str) -> list[str]:
    return [path for m, path in world.calls if m == method and "oauth2" not in path]


# -- offerings -------------------------------------------------------------------------------


def test_offerings_are_the_recorded_sizes_at_libcloud_prices(
    azure: tuple[LibcloudCloud, AzureWorld],
) -> None:
    cloud, _ = azure
    sold = {(o.instance_type, o.market) for o in cloud.list_offerings()}
    assert sold == {
        ("Standard_A0", Market.ON_DEMAND),  # no low-priority price: not sold as spot
        ("Standard_A1", Market.ON_DEMAND),
        ("Standard_A1", Market.SPOT),
        ("Standard_A2", Market.ON_DEMAND),
        ("Standard_A2", Market.SPOT),
    }
    prices = compute_prices("azure_linux")
    a1 = offering(cloud, "Standard_A1", Market.ON_DEMAND)
    assert a1.price_per_hour == prices["standarda1"][REGION]
    assert (
        offering(cloud, "Standard_A1", Market.SPOT).price_per_hour
        == prices["lowprioritya1"][REGION]
    )
    assert (a1.cloud, a1.region, a1.zone, a1.vcpus, a1.memory_gib) == (
        CLOUD,
        REGION,
        REGION,
        1.0,
        1.75,
    )
    spot = offering(cloud, "Standard_A2", Market.SPOT)
    assert spot.separate_spot_quota and spot.preemption_hazard_per_hour > 0
    assert spot.quota_draw == (("azure/eastus/spot-vcpu", 2.0),)
    assert spot.source.endswith("compute.azure_linux")


def test_price_keys() -> None:
    assert price_key("Standard_D2s_v3", Market.ON_DEMAND) == "standardd2sv3"
    assert price_key("Standard_D2s_v3", Market.SPOT) == "lowpriorityd2sv3"


def test_gpu_sizes_need_a_catalog() -> None:
    size = NodeSize(
        "Standard_NC6", "Standard_NC6", 57344, 340, 0, 0, None, extra={"numberOfCores": 6}
    )
    location = NodeLocation(REGION, "East US", "Virginia, USA", None)
    assert AzureProfile(recorded_azure_config()).offerings_for(size, location) == []
    listed = Offering(
        cloud=CLOUD,
        region=REGION,
        zone=REGION,
        instance_type="Standard_NC6",
        market=Market.SPOT,
        vcpus=6,
        memory_gib=56,
        gpu_count=1,
        gpu_type="K80",
        price_per_hour=Decimal("0.18"),
    )
    profile = AzureProfile(recorded_azure_config(price_catalog=(listed,)))
    assert profile.offerings_for(size, location) == [replace(listed, separate_spot_quota=True)]


# -- launch ---------------------------------------------------------------------------------


def test_spot_launch_request(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    [put] = world.vm_puts
    assert api_calls(world, "PUT")[-1].endswith(
        f"/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines/{NAME}"
    )
    assert put["location"] == REGION
    assert put["tags"] == {**TAGS, MANAGED_BY_TAG: MANAGED_BY_VALUE, "skybatch-token": TOKEN}
    properties = put["properties"]
    assert properties["priority"] == "Spot"
    assert properties["evictionPolicy"] == "Deallocate"
    assert properties["billingProfile"] == {"maxPrice": -1}
    assert properties["hardwareProfile"] == {"vmSize": "Standard_A1"}
    os_profile = properties["osProfile"]
    assert base64.b64decode(os_profile["customData"]).decode() == USER_DATA
    assert os_profile["computerName"] == NAME and os_profile["adminUsername"] == "skybatch"
    assert os_profile["adminPassword"]  # random: nobody can log in without a key
    storage = properties["storageProfile"]
    assert storage["imageReference"] == {
        "publisher": "Canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "latest",
    }
    assert storage["osDisk"]["deleteOption"] == "Delete"
    assert storage["osDisk"]["managedDisk"] == {"storageAccountType": "StandardSSD_LRS"}
    [nic] = properties["networkProfile"]["networkInterfaces"]
    assert nic["id"].endswith(f"/networkInterfaces/{NAME}-nic")
    assert nic["properties"]["deleteOption"] == "Delete"
    assert world.nics[f"{NAME}-nic"]["tags"]["skybatch-token"] == TOKEN
    subnet = world.nics[f"{NAME}-nic"]["properties"]["ipConfigurations"][0]["properties"]["subnet"]
    assert subnet["id"] == SUBNET_ID
    assert node.market is Market.SPOT and node.instance_type == "Standard_A1"
    assert node.tags == {**TAGS, MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert node.client_token == TOKEN
    assert node.status is NodeStatus.PENDING and not node.preempted  # "Creating"
    assert node.created_at is not None


def test_on_demand_launch_with_an_ssh_key_and_a_max_price(
    azure: tuple[LibcloudCloud, AzureWorld],
) -> None:
    cloud, world = azure_recorded_cloud(
        ssh_public_key="ssh-ed25519 AAAA skybatch",
        spot_max_price=Decimal("0.05"),
        os_disk_size_gb=64,
    )
    cloud.launch(spec(cloud), token=TOKEN)
    cloud.launch(spec(cloud, Market.SPOT), token="a-0000000000000002")
    on_demand, spot = world.vm_puts
    assert "priority" not in on_demand["properties"]
    linux = on_demand["properties"]["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True
    assert linux["ssh"]["publicKeys"][0]["keyData"] == "ssh-ed25519 AAAA skybatch"
    assert "adminPassword" not in on_demand["properties"]["osProfile"]
    assert on_demand["properties"]["storageProfile"]["osDisk"]["diskSizeGB"] == 64
    assert spot["properties"]["billingProfile"] == {"maxPrice": 0.05}


def test_the_same_token_twice_is_one_vm(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    first = cloud.launch(spec(cloud), token=TOKEN)
    again = cloud.launch(spec(cloud), token=TOKEN)
    assert again.node_id == first.node_id
    assert len(world.vm_puts) == 1


def test_a_vm_the_list_misses_is_found_by_name(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    first = cloud.launch(spec(cloud), token=TOKEN)
    world.unlisted.add(NAME)
    again = cloud.launch(spec(cloud), token=TOKEN)
    assert again.node_id == first.node_id
    assert len(world.vm_puts) == 1  # read, not written again


def test_a_foreign_vm_with_our_name_is_left_alone(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    world.add_stray(NAME)
    with pytest.raises(CloudError) as raised:
        cloud.launch(spec(cloud), token=TOKEN)
    assert raised.value.code == "NameTakenError"
    assert world.vm_puts == [] and world.vms[NAME]["tags"] == {}


def test_a_failed_create_removes_its_nic(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    world.fail_next("PUT", VM, 409, "operation_not_allowed_quota_409.json")
    with pytest.raises(QuotaError):
        cloud.launch(spec(cloud), token=TOKEN)
    assert world.nics == {} and world.vms == {}


def test_the_password_is_never_logged(
    azure: tuple[LibcloudCloud, AzureWorld], caplog: pytest.LogCaptureFixture
) -> None:
    cloud, world = azure
    with caplog.at_level(logging.DEBUG):
        cloud.launch(spec(cloud), token=TOKEN)
    password = world.vm_puts[0]["properties"]["osProfile"]["adminPassword"]
    assert password not in caplog.text
    assert "adminPassword" not in world.vms[NAME]["properties"]["osProfile"]


# -- node_info ------------------------------------------------------------------------------


def test_an_evicted_spot_vm_was_preempted(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    [running] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert running.status is NodeStatus.RUNNING and not running.preempted
    world.evict(NAME)
    [evicted] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert evicted.node_id == node.node_id
    assert evicted.status is NodeStatus.STOPPED and evicted.preempted


def test_a_deallocated_on_demand_vm_was_not_preempted(
    azure: tuple[LibcloudCloud, AzureWorld],
) -> None:
    cloud, world = azure
    cloud.launch(spec(cloud), token=TOKEN)
    world.evict(NAME)
    [listed] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert listed.status is NodeStatus.STOPPED and not listed.preempted


def test_a_failed_provisioning_is_stopped_so_that_it_is_deleted(
    azure: tuple[LibcloudCloud, AzureWorld],
) -> None:
    cloud, world = azure
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    world.fail_provisioning(NAME)
    [listed] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert listed.status is NodeStatus.STOPPED and not listed.preempted
    cloud.terminate(node.node_id)
    assert world.vms == {}


def test_recorded_foreign_vms_are_listed_without_tags(
    azure: tuple[LibcloudCloud, AzureWorld],
) -> None:
    cloud, world = azure
    everything = cloud.list_nodes({})
    assert sorted(n.node_id.rsplit("/", 1)[-1] for n in everything) == [
        "test-node-1",
        "test-node-2",
    ]
    assert all(n.tags == {} and n.client_token == "" for n in everything)
    assert cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE}) == []
    assert not [p for p in api_calls(world, "GET") if "networkInterfaces" in p]  # no NIC reads


# -- terminate ------------------------------------------------------------------------------


def test_terminate_is_one_delete_and_silent_after(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    node = cloud.launch(spec(cloud), token=TOKEN)
    cloud.terminate(node.node_id)
    cloud.terminate(node.node_id)
    cloud.terminate(
        "/subscriptions/99999999/resourceGroups/000000/providers/Microsoft.Compute/virtualMachines/nope"
    )
    assert world.vms == {} and world.nics == {}
    assert api_calls(world, "DELETE") == [node.node_id]


def test_a_recorded_foreign_vm_is_never_terminated(azure: tuple[LibcloudCloud, AzureWorld]) -> None:
    cloud, world = azure
    [foreign, _] = cloud.list_nodes({})
    cloud.terminate(foreign.node_id)
    assert api_calls(world, "DELETE") == []


# -- errors ---------------------------------------------------------------------------------


def _launch_spot(cloud: LibcloudCloud) -> None:
    cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)


def _list(cloud: LibcloudCloud) -> None:
    cloud.list_nodes({})


@pytest.mark.parametrize(
    ("method", "path", "status", "fixture", "kind", "code", "limit"),
    [
        ("PUT", VM, 409, "quota_exceeded_spot_409.json", QuotaError, "QuotaExceeded", 3.0),
        (
            "PUT",
            VM,
            409,
            "operation_not_allowed_quota_409.json",
            QuotaError,
            "OperationNotAllowed",
            10.0,
        ),
        ("PUT", VM, 409, "operation_not_allowed_409.json", CloudError, "BaseHTTPError", None),
        ("PUT", VM, 409, "sku_not_available_409.json", CapacityError, "SkuNotAvailable", None),
        ("PUT", VM, 409, "allocation_failed_409.json", CapacityError, "AllocationFailed", None),
        (
            "PUT",
            VM,
            409,
            "zonal_allocation_failed_409.json",
            CapacityError,
            "ZonalAllocationFailed",
            None,
        ),
        (
            "PUT",
            VM,
            409,
            "overconstrained_allocation_409.json",
            CapacityError,
            "OverconstrainedAllocationRequest",
            None,
        ),
        ("GET", VMS, 429, "too_many_requests_429.json", ThrottledError, "429", None),
        ("PUT", VM, 409, "retryable_error_409.json", ThrottledError, "RetryableError", None),
        ("PUT", VM, 500, "internal_server_error_500.json", ThrottledError, "500", None),
        ("GET", VMS, 503, "service_unavailable_503.json", ThrottledError, "503", None),
        ("PUT", VM, 403, "authorization_failed_403.json", AuthError, "AuthorizationFailed", None),
        (
            "GET",
            VMS,
            401,
            "invalid_authentication_token_401.json",
            AuthError,
            "InvalidAuthenticationToken",
            None,
        ),
        ("POST", TOKEN_PATH, 401, "token_invalid_client_401.json", AuthError, "AADSTS", None),
        ("POST", TOKEN_PATH, 400, "token_tenant_not_found_400.json", AuthError, "AADSTS", None),
    ],
)
def test_errors(
    azure: tuple[LibcloudCloud, AzureWorld],
    method: str,
    path: str,
    status: int,
    fixture: str,
    kind: type[CloudError],
    code: str,
    limit: float | None,
) -> None:
    cloud, world = azure
    cloud.list_offerings()
    world.fail_next(method, path, status, fixture)
    call: Any = _launch_spot if method == "PUT" else _list
    with pytest.raises(CloudError) as raised:
        call(cloud)
    assert type(raised.value) is kind
    assert raised.value.code == code
    assert str(raised.value)
    if isinstance(raised.value, QuotaError):
        assert raised.value.limit == limit


def test_error_mapping_without_http() -> None:
    assert map_azure_error(ValueError("x")) is None
    plain = map_azure_error(BaseHTTPError(400, "no code here"))
    assert plain is None
    quota = map_azure_error(BaseHTTPError(409, "[QuotaExceeded] no number"))
    assert isinstance(quota, QuotaError) and quota.limit is None


# -- config ---------------------------------------------------------------------------------

ENV = {
    "AZURE_TENANT_ID": "t",
    "AZURE_SUBSCRIPTION_ID": "s",
    "AZURE_CLIENT_ID": "c",
    "AZURE_CLIENT_SECRET": "hunter2-secret",
    "SKYBATCH_AZURE_RESOURCE_GROUP": "rg",
    "SKYBATCH_AZURE_REGIONS": "eastus,westeurope",
    "SKYBATCH_AZURE_SUBNET_ID": SUBNET_ID,
}


def test_config_from_env_hides_the_secret() -> None:
    config = AzureConfig.from_env(ENV)
    assert config.regions == ("eastus", "westeurope")
    assert config.client_secret == "hunter2-secret"
    assert "hunter2" not in repr(config)


def test_config_secret_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    env = {k: v for k, v in ENV.items() if k != "AZURE_CLIENT_SECRET"}
    assert AzureConfig.from_env({**env, "AZURE_CLIENT_SECRET_FILE": str(secret)}).client_secret == (
        "from-a-file"
    )
    with pytest.raises(CloudConfigError, match="AZURE_CLIENT_SECRET"):
        AzureConfig.from_env(env)
    with pytest.raises(CloudConfigError, match="cannot read secret file"):
        AzureConfig.from_env({**env, "AZURE_CLIENT_SECRET_FILE": str(tmp_path / "missing")})


def test_config_is_checked() -> None:
    with pytest.raises(CloudConfigError, match="eviction_policy"):
        recorded_azure_config(eviction_policy="Stop")
    with pytest.raises(CloudConfigError, match="SKYBATCH_AZURE_REGIONS"):
        AzureConfig.from_env({**ENV, "SKYBATCH_AZURE_REGIONS": ""})
    profile = AzureProfile(recorded_azure_config(image="not-an-urn"))
    with pytest.raises(CloudError, match="publisher:offer:sku:version"):
        profile.image_for(None, None)  # type: ignore[arg-type]
    gallery = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/galleries/g/images/i"
    image = AzureProfile(recorded_azure_config(image=gallery)).image_for(None, None)  # type: ignore[arg-type]
    assert image.id == gallery
