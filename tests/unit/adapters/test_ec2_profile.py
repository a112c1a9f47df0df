"""The EC2 profile's pure parts: error codes, launch keywords, nodes, config, offerings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import InvalidCredsError
from libcloud.compute.base import NodeImage, NodeLocation, NodeSize
from libcloud.compute.drivers.ec2 import ExEC2AvailabilityZone

from adapters.base import (
    AuthError,
    CapacityError,
    CloudError,
    Market,
    NodeSpec,
    NodeStatus,
    QuotaError,
    ThrottledError,
)
from adapters.catalog.defaults import AWS_SPOT_SAVINGS_PERCENT_WITHOUT_ADVISOR
from adapters.clouds.aws_auth import AwsCredentials
from adapters.clouds.ec2 import Ec2Config, Ec2Profile, SpotQuote, make_ec2_cloud
from adapters.clouds.ec2 import spot_quotes_from_advisor as quotes_from
from adapters.clouds.ec2_driver import SkybatchEc2Driver
from adapters.clouds.ec2_errors import map_ec2_error

ADVISOR_SAMPLE = Path(__file__).parents[2] / "data" / "catalogs" / "aws_spot_advisor_sample.json"
VCPU_LIMIT = (
    "You have requested more vCPU capacity than your current vCPU limit of 32 allows for "
    "the instance bucket that the specified instance type belongs to."
)


def http(status: int, text: str) -> BaseHTTPError:
    return BaseHTTPError(status, text)


@pytest.mark.parametrize(
    ("exc", "kind", "code", "limit"),
    [
        (
            http(500, "InsufficientInstanceCapacity: none"),
            CapacityError,
            "InsufficientInstanceCapacity",
            None,
        ),
        (http(400, "SpotMaxPriceTooLow: price"), CapacityError, "SpotMaxPriceTooLow", None),
        (http(400, f"VcpuLimitExceeded: {VCPU_LIMIT}"), QuotaError, "VcpuLimitExceeded", 32.0),
        (
            http(400, "InstanceLimitExceeded: your current instance limit of 20 allows"),
            QuotaError,
            "InstanceLimitExceeded",
            20.0,
        ),
        (
            http(400, "MaxSpotInstanceCountExceeded: max"),
            QuotaError,
            "MaxSpotInstanceCountExceeded",
            None,
        ),
        (
            http(503, "RequestLimitExceeded: slow down"),
            ThrottledError,
            "RequestLimitExceeded",
            None,
        ),
        (http(400, "Throttling: Rate exceeded"), ThrottledError, "Throttling", None),
        (InvalidCredsError("AuthFailure: not validated"), AuthError, "AuthFailure", None),
        (http(403, "UnauthorizedOperation: not allowed"), AuthError, "UnauthorizedOperation", None),
        # Codes without a rule keep their code; the HTTP status decides the class.
        (http(400, "InvalidAMIID.NotFound: no image"), CloudError, "InvalidAMIID.NotFound", None),
        (http(503, "SomethingNew: try later"), ThrottledError, "SomethingNew", None),
        # Several errors in one answer: the first one counts.
        (
            http(400, "VcpuLimitExceeded: limit of 8 vCPUs\nInvalidParameter: x"),
            QuotaError,
            "VcpuLimitExceeded",
            8.0,
        ),
    ],
)
def test_ec2_error_codes(
    exc: Exception, kind: type[CloudError], code: str, limit: float | None
) -> None:
    mapped = map_ec2_error(exc)
    assert type(mapped) is kind
    assert mapped is not None
    assert mapped.code == code
    assert not str(mapped).startswith(code)  # the message, without the "Code:" prefix
    if isinstance(mapped, QuotaError):
        assert mapped.limit == limit


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("Timeout: refused"),
        ValueError("Invalid region: xx"),
        BaseHTTPError(400, ""),
        BaseHTTPError(502, "<html>Bad Gateway</html>"),
    ],
)
def test_no_ec2_code_leaves_it_to_the_generic_rules(exc: Exception) -> None:
    assert map_ec2_error(exc) is None


def config(**overrides: object) -> Ec2Config:
    base: dict[str, object] = {"ami": "ami-12345678", "zones": ("us-east-1a",)}
    return Ec2Config(**{**base, **overrides})  # type: ignore[arg-type]


def size(type_: str = "m5.large", price: float | None = 0.096, **extra: object) -> NodeSize:
    return NodeSize(
        type_,
        type_,
        ram=8192,
        disk=0,
        bandwidth=None,
        price=price,
        driver=None,
        extra={"vcpu": "2", **extra},
    )


def zone(name: str = "us-east-1a", state: str = "available") -> NodeLocation:
    location = NodeLocation("0", name, "USA", None)
    location.availability_zone = ExEC2AvailabilityZone(name, state, "us-east-1")
    return location


def test_offerings_on_demand_and_spot_with_separate_spot_quota() -> None:
    quote = SpotQuote(Decimal("0.031"), 0.0002, "advisor", "2025-06")
    profile = Ec2Profile(config(spot_quotes={"m5.large": quote}))
    on_demand, spot = profile.offerings_for(size(), zone())
    assert on_demand.id == "aws/us-east-1/us-east-1a/m5.large/on-demand"
    assert on_demand.price_per_hour == Decimal("0.096")
    assert (on_demand.vcpus, on_demand.memory_gib, on_demand.gpu_count) == (2.0, 8.0, 0)
    assert spot.market is Market.SPOT
    assert spot.price_per_hour == Decimal("0.031")
    assert spot.preemption_hazard_per_hour == 0.0002
    assert spot.quota_draw == (("aws/us-east-1/spot-vcpu", 2.0),)
    assert on_demand.quota_draw == (("aws/us-east-1/vcpu", 2.0),)


def test_spot_without_a_quote_gets_the_assumed_discount() -> None:
    [_, spot] = Ec2Profile(config()).offerings_for(size(), zone())
    savings = AWS_SPOT_SAVINGS_PERCENT_WITHOUT_ADVISOR
    assert spot.price_per_hour == Decimal("0.096") * (100 - savings) / 100
    assert spot.preemption_hazard_per_hour > 0
    assert "assumed" in spot.source


def test_spot_quotes_from_the_advisor_data() -> None:
    quotes = quotes_from(ADVISOR_SAMPLE, "us-east-1", source="sample", source_date="2025-06")
    assert quotes
    for type_, quote in quotes.items():
        assert Decimal(0) < quote.price_per_hour, type_
        assert quote.hazard_per_hour > 0
        assert quote.source_date == "2025-06"
    assert not set(quotes) & set(quotes_from(ADVISOR_SAMPLE, "eu-west-3"))


@pytest.mark.parametrize(
    ("the_size", "the_zone"),
    [
        (size(price=None), zone()),
        (size(price=0.0), zone()),
        (size("p3.2xlarge", gpu="1"), zone()),  # fine: V100
        (size("x9.large", gpu="1"), zone()),  # a GPU nobody named
        (size(), zone("us-east-1b")),  # not a configured zone
        (size(), zone(state="impaired")),
    ],
)
def test_sizes_and_zones_left_out(the_size: NodeSize, the_zone: NodeLocation) -> None:
    offerings = Ec2Profile(config()).offerings_for(the_size, the_zone)
    if the_size.id == "p3.2xlarge":
        assert [o.gpu_type for o in offerings] == ["V100", "V100"]
    else:
        assert offerings == []


def test_instance_type_filter() -> None:
    profile = Ec2Profile(config(instance_types=("t3.micro",)))
    assert profile.offerings_for(size("m5.large"), zone()) == []
    assert len(profile.offerings_for(size("t3.micro"), zone())) == 2


def test_launch_keywords() -> None:
    profile = Ec2Profile(config())
    [on_demand, spot] = profile.offerings_for(size(), zone())
    tags = {"managed-by": "skybatch", "skybatch-attempt": "a-1"}
    image = NodeImage("ami-12345678", "img", None)
    kwargs = profile.launch_kwargs(
        NodeSpec(spot, "n", "#!/bin/sh\n", tags), "a-1", size(), image, zone()
    )
    assert kwargs == {
        "ex_userdata": "#!/bin/sh\n",
        "ex_metadata": tags,
        "ex_volume_tags": tags,
        "ex_clienttoken": "a-1",
        "ex_spot": True,
        "ex_spot_max_price": "0.096",
    }
    plain = profile.launch_kwargs(NodeSpec(on_demand, "n", "", tags), "a-1", size(), image, zone())
    assert "ex_spot" not in plain
    with pytest.raises(CloudError, match="64"):
        profile.launch_kwargs(NodeSpec(spot, "n", "", tags), "a" * 65, size(), image, zone())


def test_list_filters_by_tag_on_the_server() -> None:
    profile = Ec2Profile(config())
    assert profile.list_kwargs({"managed-by": "skybatch", "skybatch-job": "j"}) == {
        "ex_filters": {"tag:managed-by": "skybatch", "tag:skybatch-job": "j"}
    }
    assert profile.list_kwargs({}) == {}


INSTANCE = """
<item xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <instanceId>i-0abc</instanceId><instanceType>m5.large</instanceType>
  <instanceState><code>48</code><name>terminated</name></instanceState>
  <launchTime>2026-01-02T03:04:05.000Z</launchTime>
  <clientToken>a-123</clientToken>
  {lifecycle}
  <stateReason><code>{reason}</code><message>{reason}: gone</message></stateReason>
  <tagSet>
    <item><key>managed-by</key><value>skybatch</value></item>
    <item><key>skybatch-attempt</key><value>a-123</value></item>
  </tagSet>
</item>
"""


@pytest.mark.parametrize(
    ("lifecycle", "reason", "market", "preempted"),
    [
        ("spot", "Server.SpotInstanceTermination", Market.SPOT, True),
        ("spot", "Server.SpotInstanceShutdown", Market.SPOT, True),
        ("spot", "Client.UserInitiatedShutdown", Market.SPOT, False),
        ("", "Client.UserInitiatedShutdown", Market.ON_DEMAND, False),
    ],
)
def test_node_info_from_describe_instances(
    lifecycle: str, reason: str, market: Market, preempted: bool
) -> None:
    driver = SkybatchEc2Driver("key", "secret", region="us-east-1")
    element = f"<instanceLifecycle>{lifecycle}</instanceLifecycle>" if lifecycle else ""
    xml = INSTANCE.format(lifecycle=element, reason=reason)
    info = Ec2Profile(config()).node_info(driver._to_node(ElementTree.fromstring(xml)))
    assert info.node_id == "i-0abc"
    assert info.market is market
    assert info.status is NodeStatus.TERMINATED
    assert info.preempted is preempted
    assert info.client_token == "a-123"
    assert info.tags == {"managed-by": "skybatch", "skybatch-attempt": "a-123"}
    assert (
        info.created_at is not None and info.created_at.isoformat() == "2026-01-02T03:04:05+00:00"
    )


def test_credentials_never_show() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    credentials = AwsCredentials("AKIAEXAMPLE0000000", secret, "session-token-value")
    shown = repr(config(credentials=credentials)) + str(credentials)
    for value in ("AKIAEXAMPLE0000000", secret, "session-token-value"):
        assert value not in shown


def test_credentials_from_the_environment() -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "s",
        "AWS_SESSION_TOKEN": "t",
    }
    cloud = make_ec2_cloud(config(), environ=env)
    assert cloud.name == "aws"
    assert cloud.driver.key == "AKIAEXAMPLE"
    assert cloud.driver.token == "t"
    with pytest.raises(AuthError, match="AWS_ACCESS_KEY_ID"):
        make_ec2_cloud(config(), environ={"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"})
