"""The EC2 adapter over real HTTP against moto: what reaches EC2, seen through boto3."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from adapters.base import Market, NodeSpec, Offering
from adapters.clouds import ec2_driver
from adapters.clouds.ec2 import make_ec2_cloud
from adapters.libcloud_compute import LibcloudCloud
from tests.support import aws
from tests.support.moto_server import MotoServer

TAGS = {"skybatch-job": "job-7", "skybatch-attempt": "a-77", "skybatch-tenant": "team-b"}
BOOT = "#!/bin/sh\nexec python3 -m scheduler.worker --attempt a-77\n"


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def cloud(moto: MotoServer) -> Iterator[LibcloudCloud]:
    yield make_ec2_cloud(aws.ec2_config(moto))


def offering(cloud: LibcloudCloud, market: Market, zone: str = "us-east-1b") -> Offering:
    return next(
        o
        for o in cloud.list_offerings()
        if o.market is market and o.zone == zone and o.instance_type == "t3.small"
    )


def test_offerings_cover_the_configured_zones_and_types(cloud: LibcloudCloud) -> None:
    offerings = cloud.list_offerings()
    assert {o.zone for o in offerings} == set(aws.ZONES)
    assert {o.instance_type for o in offerings} == set(aws.INSTANCE_TYPES)
    assert len(offerings) == len(aws.ZONES) * len(aws.INSTANCE_TYPES) * 2
    assert all(o.separate_spot_quota for o in offerings)


@pytest.mark.parametrize("market", list(Market))
def test_launch_reaches_ec2_as_asked(
    cloud: LibcloudCloud, moto: MotoServer, market: Market
) -> None:
    target = offering(cloud, market)
    node = cloud.launch(NodeSpec(target, "skybatch-job-7-1", BOOT, TAGS), token="a-77")

    [instance] = aws.instances(moto, {"skybatch-attempt": "a-77"})
    assert instance["InstanceId"] == node.node_id
    assert instance["InstanceType"] == "t3.small"
    assert instance["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert instance["ClientToken"] == "a-77"
    assert instance["ImageId"] == aws.MOTO_AMI
    assert instance.get("InstanceLifecycle") == ("spot" if market is Market.SPOT else None)
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags.items() >= {**TAGS, "managed-by": "skybatch"}.items()

    ec2 = aws.client(moto, "ec2")
    user_data = ec2.describe_instance_attribute(InstanceId=node.node_id, Attribute="userData")
    assert base64.b64decode(user_data["UserData"]["Value"]).decode() == BOOT


def test_volumes_carry_the_tags_too(cloud: LibcloudCloud, moto: MotoServer) -> None:
    node = cloud.launch(NodeSpec(offering(cloud, Market.SPOT), "n", BOOT, TAGS), token="a-77")
    volumes = aws.client(moto, "ec2").describe_volumes(
        Filters=[{"Name": "attachment.instance-id", "Values": [node.node_id]}]
    )["Volumes"]
    assert volumes
    for volume in volumes:
        tags = {t["Key"]: t["Value"] for t in volume.get("Tags", [])}
        assert tags.items() >= {**TAGS, "managed-by": "skybatch"}.items()


def test_a_node_we_terminate_is_not_a_preemption(cloud: LibcloudCloud) -> None:
    node = cloud.launch(NodeSpec(offering(cloud, Market.SPOT), "n", BOOT, TAGS), token="a-77")
    cloud.terminate(node.node_id)
    [listed] = cloud.list_nodes({"skybatch-attempt": "a-77"})
    assert listed.market is Market.SPOT
    assert not listed.preempted
    assert listed.client_token == "a-77"


def test_listing_reads_every_page(
    cloud: LibcloudCloud, moto: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real EC2 answers DescribeInstances in pages when asked for MaxResults; a one-page
    # listing would hide nodes from the reconciler, which would take them for lost.
    # (moto 5.2 answers in one page whatever the size: this guards the listing as a
    # whole, the NextToken loop is exercised only against real EC2.)
    monkeypatch.setattr(ec2_driver, "PAGE_SIZE", 100)
    many = 230
    tags = [{"Key": "managed-by", "Value": "skybatch"}, {"Key": "skybatch-job", "Value": "big"}]
    for _ in range(many // 115):
        aws.client(moto, "ec2").run_instances(
            ImageId=aws.MOTO_AMI,
            InstanceType="t3.micro",
            MinCount=115,
            MaxCount=115,
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
    assert len(cloud.list_nodes({"skybatch-job": "big"})) == many
