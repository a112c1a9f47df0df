"""The GCE adapter on libcloud's recorded GCE responses (tests/recorded/gce.py)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from libcloud.common.google import GoogleAuthError, GoogleBaseError

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
from adapters.clouds.config import CloudConfigError
from adapters.clouds.gce import (
    CLOUD,
    GCEConfig,
    GCEProfile,
    gce_labels,
    image_url,
    list_price,
    make_gce_cloud,
)
from adapters.clouds.gce_errors import map_gce_error
from adapters.clouds.node_names import name_for_token
from adapters.clouds.prices import compute_prices
from adapters.libcloud_compute import LibcloudCloud
from tests.recorded.gce import (
    REGION,
    SERVICE_ACCOUNT_KEY,
    ZONE,
    GCEWorld,
    gce_recorded_cloud,
    load_instance,
    recorded_driver_class,
    recorded_gce_config,
)

TOKEN = "a-0123456789abcdef"
NAME = f"skybatch-{TOKEN}"
TAGS = {
    "skybatch-job": "j-1f2e3d4c5b6a7980",
    "skybatch-attempt": TOKEN,
    "skybatch-tenant": "Team-A",
}
INSTANCES = r"/zones/[^/]+/instances"
GCE_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


@pytest.fixture
def gce() -> tuple[LibcloudCloud, GCEWorld]:
    return gce_recorded_cloud()


def offering(cloud: LibcloudCloud, instance_type: str, market: Market) -> Offering:
    [found] = [
        o for o in cloud.list_offerings() if o.instance_type == instance_type and o.market is market
    ]
    return found


def spec(cloud: LibcloudCloud, market: Market = Market.ON_DEMAND) -> NodeSpec:
    return NodeSpec(
        offering(cloud, "n1-standard-1", market),
        "skybatch-j-1f2e3d4c5b6a7980-1",
        "#!/bin/sh\nexec skybatch-worker --attempt a-0123456789abcdef\n",
        TAGS,
    )


# -- names and labels ------------------------------------------------------------------------


def test_names_come_from_the_token_only() -> None:
    assert name_for_token(TOKEN) == NAME
    ugly = "Attempt/ÜBER_long." + "x" * 80
    name = name_for_token(ugly)
    assert name == name_for_token(ugly)
    assert len(name) <= 63 and GCE_NAME.fullmatch(name)
    assert name_for_token("A-1") != name_for_token("a-1")  # same sanitized, different digest
    with pytest.raises(ValueError):
        name_for_token("")


def test_labels_are_sanitized_to_gce_rules() -> None:
    labels = gce_labels({"Team.Name": "Data Science!", "9lives": "x" * 80, "ok-key": "a_b-c"})
    assert labels == {"team_name": "data_science_", "k9lives": "x" * 63, "ok-key": "a_b-c"}
    for key, value in labels.items():
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,62}", key)
        assert re.fullmatch(r"[a-z0-9_-]{0,63}", value)


def test_image_urls() -> None:
    family = "projects/debian-cloud/global/images/family/debian-12"
    assert image_url(family, "p") == "https://www.googleapis.com/compute/v1/" + family
    assert image_url("my-image", "p").endswith("/projects/p/global/images/my-image")
    assert image_url("https://x/y", "p") == "https://x/y"


# -- offerings -------------------------------------------------------------------------------


def test_offerings_are_the_recorded_machine_types_at_libcloud_prices(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, _ = gce
    offerings = cloud.list_offerings()
    types = {o.instance_type for o in offerings}
    assert "n1-standard-1" in types and "n1-highmem-8" in types
    assert not types & {"f1-micro", "g1-small"}  # shared-core
    assert "a2-highgpu-1g" not in types  # GPUs: not in libcloud's price list
    assert {o.zone for o in offerings} == {ZONE} and {o.region for o in offerings} == {REGION}
    n1 = compute_prices("gce_instances")["n1"]
    for market, key in ((Market.ON_DEMAND, "on_demand"), (Market.SPOT, "preemptible")):
        o = offering(cloud, "n1-standard-1", market)
        cpu, ram = n1["cpu"][key][REGION]["price"], n1["ram"][key][REGION]["price"]
        assert o.price_per_hour == (cpu + Decimal("3.75") * ram).quantize(Decimal("0.000001"))
        assert (o.cloud, o.vcpus, o.memory_gib, o.gpu_count) == (CLOUD, 1.0, 3.75, 0)
        assert o.separate_spot_quota
        assert o.source.endswith("pricing.json compute.gce_instances") and o.source_date
    spot = offering(cloud, "n1-standard-1", Market.SPOT)
    assert spot.price_per_hour < offering(cloud, "n1-standard-1", Market.ON_DEMAND).price_per_hour
    assert spot.preemption_hazard_per_hour > 0
    assert offering(cloud, "n1-standard-1", Market.ON_DEMAND).preemption_hazard_per_hour == 0
    assert spot.quota_draw == (("gcp/us-central1/spot-vcpu", 1.0),)


def test_a_catalog_prices_what_libcloud_does_not(tmp_path: Path) -> None:
    gpu = Offering(
        cloud=CLOUD,
        region=REGION,
        zone=ZONE,
        instance_type="a2-highgpu-1g",
        market=Market.SPOT,
        vcpus=12,
        memory_gib=85,
        gpu_count=1,
        gpu_type="A100",
        price_per_hour=Decimal("1.100000"),
        source="catalog",
    )
    cheaper = replace(gpu, instance_type="n1-standard-1", gpu_count=0, gpu_type="")
    cloud, _ = gce_recorded_cloud(price_catalog=(gpu, cheaper))
    assert offering(cloud, "a2-highgpu-1g", Market.SPOT).gpu_type == "A100"
    assert offering(cloud, "n1-standard-1", Market.SPOT).price_per_hour == Decimal("1.1")
    assert not [o for o in cloud.list_offerings() if o.instance_type == "a2-highgpu-1g"][1:]


def test_list_price_is_none_without_a_price() -> None:
    assert list_price("zz9-standard-2", REGION, Market.ON_DEMAND, 2, 7680) is None
    assert list_price("n1-standard-2", "mars-north1", Market.SPOT, 2, 7680) is None


# -- launch ---------------------------------------------------------------------------------


def test_spot_launch_request(gce: tuple[LibcloudCloud, GCEWorld]) -> None:
    cloud, world = gce
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    [request] = world.inserted()
    assert request["name"] == NAME
    assert request["description"] == "skybatch-j-1f2e3d4c5b6a7980-1"
    assert request["machineType"].endswith(f"/zones/{ZONE}/machineTypes/n1-standard-1")
    assert request["scheduling"] == {
        "preemptible": True,
        "onHostMaintenance": "TERMINATE",
        "automaticRestart": False,
    }
    assert request["labels"] == {
        MANAGED_BY_TAG: MANAGED_BY_VALUE,
        "skybatch-job": "j-1f2e3d4c5b6a7980",
        "skybatch-attempt": TOKEN,
        "skybatch-tenant": "team-a",  # lowercased: a label
        "skybatch-token": TOKEN,
    }
    metadata = {i["key"]: i["value"] for i in request["metadata"]["items"]}
    assert metadata["startup-script"] == spec(cloud).user_data
    assert json.loads(metadata["skybatch-tags"]) == {**TAGS, MANAGED_BY_TAG: MANAGED_BY_VALUE}
    assert metadata["skybatch-token"] == TOKEN
    [disk] = request["disks"]
    assert disk["boot"] and disk["autoDelete"]
    assert disk["initializeParams"]["diskSizeGb"] == 20
    assert disk["initializeParams"]["diskType"].endswith("/diskTypes/pd-standard")
    assert disk["initializeParams"]["sourceImage"].endswith("images/family/debian-12")
    assert request["serviceAccounts"][0]["email"] == "default"
    assert request["networkInterfaces"][0]["accessConfigs"]  # an ephemeral external IP
    assert node.market is Market.SPOT and node.instance_type == "n1-standard-1"
    assert node.tags == {**TAGS, MANAGED_BY_TAG: MANAGED_BY_VALUE}  # exact, not the labels
    assert node.client_token == TOKEN
    assert node.status is NodeStatus.RUNNING and not node.preempted
    assert node.region == REGION


def test_on_demand_launch_is_not_preemptible(gce: tuple[LibcloudCloud, GCEWorld]) -> None:
    cloud, world = gce
    node = cloud.launch(spec(cloud), token=TOKEN)
    [request] = world.inserted()
    assert request["scheduling"] == {"preemptible": False}
    assert node.market is Market.ON_DEMAND


def test_launch_kwargs_without_external_ip_or_service_account() -> None:
    profile = GCEProfile(
        recorded_gce_config(external_ip=False, node_service_account=None, subnetwork="sub-1")
    )
    cloud, _ = gce_recorded_cloud()
    kwargs = profile.launch_kwargs(spec(cloud), TOKEN, None, None, None)  # type: ignore[arg-type]
    assert kwargs["external_ip"] is None
    assert kwargs["ex_service_accounts"] == []
    assert kwargs["ex_subnetwork"] == "sub-1"
    assert kwargs["ex_idempotency_token"] == TOKEN
    assert profile.list_kwargs({}) == {"ex_zone": "all"}


def test_the_same_token_twice_is_one_instance(gce: tuple[LibcloudCloud, GCEWorld]) -> None:
    cloud, world = gce
    first = cloud.launch(spec(cloud), token=TOKEN)
    again = cloud.launch(spec(cloud), token=TOKEN)
    assert again.node_id == first.node_id
    assert len(world.inserted()) == 1


def test_an_insert_that_already_exists_returns_that_instance(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, world = gce
    first = cloud.launch(spec(cloud), token=TOKEN)
    world.unlisted.add(NAME)  # the list lags: the token lookup misses it
    again = cloud.launch(spec(cloud), token=TOKEN)
    assert again.node_id == first.node_id
    assert [c for c in world.calls if c[0] == "POST"] == [("POST", f"/zones/{ZONE}/instances")] * 2
    assert len(world.instances) == 1


def test_a_foreign_instance_with_our_name_is_not_adopted(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, world = gce
    world.add_stray(NAME)
    with pytest.raises(CloudError) as raised:
        cloud.launch(spec(cloud), token=TOKEN)
    assert type(raised.value) is CloudError
    assert raised.value.code == "alreadyExists"


# -- node_info ------------------------------------------------------------------------------


@pytest.mark.parametrize("gce_status", ["STOPPING", "TERMINATED"])
def test_a_stopped_spot_instance_was_preempted(
    gce: tuple[LibcloudCloud, GCEWorld], gce_status: str
) -> None:
    cloud, world = gce
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    world.preempt(NAME, status=gce_status)
    [listed] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert listed.node_id == node.node_id
    assert listed.status is NodeStatus.STOPPED and listed.preempted


def test_a_stopped_on_demand_instance_was_not_preempted(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, world = gce
    cloud.launch(spec(cloud), token=TOKEN)
    world.preempt(NAME)
    [listed] = cloud.list_nodes({"skybatch-attempt": TOKEN})
    assert listed.status is NodeStatus.STOPPED and not listed.preempted


def test_node_info_of_a_recorded_preempted_instance_with_labels_only(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, _ = gce
    node = cloud.driver._to_node(load_instance("instance_preempted_labels_only.json"))
    info = GCEProfile(recorded_gce_config()).node_info(node)
    assert info.preempted and info.status is NodeStatus.STOPPED
    assert info.market is Market.SPOT
    assert info.client_token == "a-5d0c8e1f2a3b4c5d"
    assert info.tags == {
        MANAGED_BY_TAG: MANAGED_BY_VALUE,
        "skybatch-job": "j-1f2e3d4c5b6a7980",
        "skybatch-attempt": "a-5d0c8e1f2a3b4c5d",
        "skybatch-tenant": "team-a",
    }
    assert info.created_at == datetime(2024, 5, 14, 13, 41, 9, 552000, tzinfo=UTC)
    assert (info.region, info.instance_type) == (REGION, "n1-standard-1")


def test_foreign_recorded_instances_are_listed_without_tags(
    gce: tuple[LibcloudCloud, GCEWorld],
) -> None:
    cloud, _ = gce
    everything = cloud.list_nodes({})
    assert {n.tags.get(MANAGED_BY_TAG) for n in everything} == {None}
    assert len(everything) == 8  # libcloud's aggregated_instances.json
    assert cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE}) == []


# -- terminate ------------------------------------------------------------------------------


def test_terminate_deletes_ours_and_is_silent_after(gce: tuple[LibcloudCloud, GCEWorld]) -> None:
    cloud, world = gce
    node = cloud.launch(spec(cloud), token=TOKEN)
    cloud.terminate(node.node_id)
    cloud.terminate(node.node_id)
    cloud.terminate("4006034190819017667")  # libcloud's recorded node-name: not ours
    cloud.terminate("no-such-id")
    assert world.instances == {} and world.disks == {}
    assert [c for c in world.calls if c[0] == "DELETE"] == [
        ("DELETE", f"/zones/{ZONE}/instances/{NAME}")
    ]


def test_terminate_of_a_preempted_instance_deletes_it(gce: tuple[LibcloudCloud, GCEWorld]) -> None:
    cloud, world = gce
    node = cloud.launch(spec(cloud, Market.SPOT), token=TOKEN)
    world.preempt(NAME)
    cloud.terminate(node.node_id)
    assert world.instances == {}


# -- errors ---------------------------------------------------------------------------------


def _launch(cloud: LibcloudCloud, market: Market = Market.ON_DEMAND) -> None:
    cloud.launch(spec(cloud, market), token=TOKEN)


def _list(cloud: LibcloudCloud) -> None:
    cloud.list_nodes({})


@pytest.mark.parametrize(
    ("fixture", "status", "call", "kind", "code", "limit"),
    [
        ("insert_quota_exceeded_403.json", 403, _launch, QuotaError, "quotaExceeded", 8.0),
        ("api_quota_exceeded_403.json", 403, _list, ThrottledError, "quotaExceeded", None),
        ("rate_limit_exceeded_403.json", 403, _list, ThrottledError, "rateLimitExceeded", None),
        ("too_many_requests_429.json", 429, _list, ThrottledError, "rateLimitExceeded", None),
        ("backend_error_503.json", 503, _launch, ThrottledError, "backendError", None),
        ("bad_gateway_502.html", 502, _list, ThrottledError, "502", None),
        ("unauthorized_401.json", 401, _list, AuthError, "authError", None),
        ("forbidden_403.json", 403, _launch, AuthError, "forbidden", None),
    ],
)
def test_http_errors(
    gce: tuple[LibcloudCloud, GCEWorld],
    fixture: str,
    status: int,
    call: Any,
    kind: type[CloudError],
    code: str,
    limit: float | None,
) -> None:
    cloud, world = gce
    cloud.list_offerings()
    path = INSTANCES if call is _launch else "/aggregated/instances"
    world.fail_next("POST" if call is _launch else "GET", path, status, fixture)
    with pytest.raises(CloudError) as raised:
        call(cloud)
    assert type(raised.value) is kind
    assert raised.value.code == code
    assert str(raised.value)
    if isinstance(raised.value, QuotaError):
        assert raised.value.limit == limit


@pytest.mark.parametrize(
    ("fixture", "kind", "code", "limit"),
    [
        ("operation_quota_exceeded.json", QuotaError, "QUOTA_EXCEEDED", 24.0),
        (
            "operation_zone_resource_pool_exhausted.json",
            CapacityError,
            "ZONE_RESOURCE_POOL_EXHAUSTED",
            None,
        ),
        (
            "operation_zone_resource_pool_exhausted_with_details.json",
            CapacityError,
            "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
            None,
        ),
    ],
)
def test_failed_insert_operations(
    gce: tuple[LibcloudCloud, GCEWorld],
    fixture: str,
    kind: type[CloudError],
    code: str,
    limit: float | None,
) -> None:
    cloud, world = gce
    world.fail_next_insert_operation(fixture)
    with pytest.raises(CloudError) as raised:
        _launch(cloud, Market.SPOT)
    assert type(raised.value) is kind and raised.value.code == code
    assert "us-central1" in str(raised.value)
    if isinstance(raised.value, QuotaError):
        assert raised.value.limit == limit
    assert world.instances == {}
    assert cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE}) == []


def test_error_mapping_without_http() -> None:
    auth = map_gce_error(GoogleAuthError("no token"))
    assert type(auth) is AuthError
    assert map_gce_error(ValueError("x")) is None
    assert map_gce_error(GoogleBaseError("odd", 200, "SOMETHING_NEW")) is None
    quota = map_gce_error(
        GoogleBaseError("Quota 'CPUS' exceeded.  Limit: 0.0 globally.", 200, "QUOTA_EXCEEDED")
    )
    assert isinstance(quota, QuotaError) and quota.limit == 0.0


def test_a_bad_service_account_key_is_an_auth_error(tmp_path: Path) -> None:
    key = tmp_path / "key.json"
    key.write_text(json.dumps({"client_email": "x@p.iam.gserviceaccount.com", "private_key": "no"}))
    with pytest.raises(AuthError):
        make_gce_cloud(
            recorded_gce_config(credentials_file=key), driver_cls=recorded_driver_class(GCEWorld())
        )


# -- config ---------------------------------------------------------------------------------


def test_config_from_env() -> None:
    env = {
        "GOOGLE_CLOUD_PROJECT": "proj",
        "SKYBATCH_GCE_ZONES": "us-central1-a, us-central1-b,",
        "GOOGLE_APPLICATION_CREDENTIALS": "/secrets/sa.json",
    }
    config = GCEConfig.from_env(env, disk_size_gb=50)
    assert config.project == "proj"
    assert config.zones == ("us-central1-a", "us-central1-b")
    assert config.credentials_file == Path("/secrets/sa.json")
    assert config.disk_size_gb == 50
    with pytest.raises(CloudConfigError, match="SKYBATCH_GCE_ZONES"):
        GCEConfig.from_env({**env, "SKYBATCH_GCE_ZONES": ""})
    with pytest.raises(CloudConfigError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        GCEConfig.from_env({k: v for k, v in env.items() if "CREDENTIALS" not in k})


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("not json", "not JSON"), ("{}", "no client_email")],
)
def test_unusable_credential_files(tmp_path: Path, content: str | None, message: str) -> None:
    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content)
    with pytest.raises(CloudConfigError, match=message):
        make_gce_cloud(recorded_gce_config(credentials_file=key))


def test_the_recorded_key_is_libclouds_test_key() -> None:
    assert json.loads(SERVICE_ACCOUNT_KEY.read_text())["client_email"]
