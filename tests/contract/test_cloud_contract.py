"""The CloudPort contract (adapters.base), checked on every adapter of ``adapters.CLOUDS``."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

import pytest

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    CloudError,
    CloudPort,
    Market,
    NodeInfo,
    NodeSpec,
    NodeStatus,
    Offering,
)
from tests.contract.adapters import CloudUnderTest

OURS = {MANAGED_BY_TAG: MANAGED_BY_VALUE}
ATTEMPT = "skybatch-attempt"


def live(cut: CloudUnderTest) -> CloudUnderTest:
    if not cut.live:
        pytest.skip(f"{cut.name} answers from recordings: launches change no state")
    return cut


def cheapest(cut: CloudUnderTest, market: Market) -> Offering:
    sold = [o for o in cut.port.list_offerings() if o.market is market]
    assert sold, f"{cut.name} sells nothing {market}"
    return min(sold, key=lambda o: (o.price_per_hour, o.id))


def launch(
    cut: CloudUnderTest, market: Market = Market.ON_DEMAND, token: str = ""
) -> tuple[NodeInfo, dict[str, str]]:
    token = token or f"a-{uuid.uuid4().hex[:16]}"
    tags = {ATTEMPT: token, "skybatch-job": "job-1", "skybatch-tenant": "team-a"}
    spec = NodeSpec(cheapest(cut, market), f"skybatch-job-1-{token}", cut.user_data, tags)
    return cut.port.launch(spec, token=token), tags


def test_is_a_cloud_port(cloud_under_test: CloudUnderTest) -> None:
    assert isinstance(cloud_under_test.port, CloudPort)
    assert cloud_under_test.port.name


def test_offerings(cloud_under_test: CloudUnderTest) -> None:
    port = cloud_under_test.port
    offerings = port.list_offerings()
    assert offerings
    ids = [o.id for o in offerings]
    assert len(ids) == len(set(ids))
    assert {o.market for o in offerings} == {Market.ON_DEMAND, Market.SPOT}
    for o in offerings:
        assert o.cloud == port.name
        assert isinstance(o.price_per_hour, Decimal)
        assert o.price_per_hour > 0, o.id
        assert o.vcpus > 0 and o.memory_gib > 0, o.id
        assert o.region and o.zone and o.instance_type, o.id
        if o.market is Market.SPOT:
            assert o.preemption_hazard_per_hour > 0, o.id
        else:
            assert o.preemption_hazard_per_hour == 0, o.id
    # Spot only where the same type is sold on demand in the same zone; not every type
    # has a spot market (e.g. Azure's A0).
    by_market = {
        m: {(o.region, o.zone, o.instance_type) for o in offerings if o.market is m} for m in Market
    }
    assert by_market[Market.SPOT] <= by_market[Market.ON_DEMAND]


@pytest.mark.parametrize("market", list(Market))
def test_launch_returns_our_tagged_node_on_the_market(
    cloud_under_test: CloudUnderTest, market: Market
) -> None:
    offering = cheapest(cloud_under_test, market)
    node, tags = launch(cloud_under_test, market)
    assert node.node_id
    assert node.cloud == cloud_under_test.port.name
    assert node.market is market
    assert node.instance_type == offering.instance_type
    assert node.region == offering.region
    assert node.tags.items() >= {**tags, **OURS}.items()
    assert node.client_token in ("", tags[ATTEMPT])
    assert node.status in (NodeStatus.PENDING, NodeStatus.RUNNING)
    assert not node.preempted


def test_same_token_twice_is_one_node(cloud_under_test: CloudUnderTest) -> None:
    cut = live(cloud_under_test)
    assert cut.count_nodes is not None
    first, tags = launch(cut, token="a-0000000000000001")
    again, _ = launch(cut, token="a-0000000000000001")
    assert again.node_id == first.node_id
    assert cut.count_nodes({ATTEMPT: tags[ATTEMPT]}) == 1


def test_list_nodes_filters_by_tags(cloud_under_test: CloudUnderTest) -> None:
    cut = live(cloud_under_test)
    a, a_tags = launch(cut)
    b, _ = launch(cut, Market.SPOT)
    ours = {n.node_id: n for n in cut.port.list_nodes(OURS)}
    assert {a.node_id, b.node_id} <= set(ours)
    assert ours[b.node_id].market is Market.SPOT
    only_a = cut.port.list_nodes({ATTEMPT: a_tags[ATTEMPT]})
    assert [n.node_id for n in only_a] == [a.node_id]
    assert only_a[0].tags.items() >= a_tags.items()
    assert cut.port.list_nodes({ATTEMPT: "a-nobody"}) == []


def test_terminate_is_idempotent(cloud_under_test: CloudUnderTest) -> None:
    cut = live(cloud_under_test)
    assert cut.count_nodes is not None
    node, tags = launch(cut)
    cut.port.terminate(node.node_id)
    cut.port.terminate(node.node_id)
    assert cut.count_nodes({ATTEMPT: tags[ATTEMPT]}) == 0
    listed = [n for n in cut.port.list_nodes(OURS) if n.node_id == node.node_id]
    assert all(n.status is NodeStatus.TERMINATED and not n.preempted for n in listed)


def test_terminate_of_an_unknown_node_is_silent(cloud_under_test: CloudUnderTest) -> None:
    cloud_under_test.port.terminate("i-0123456789abcdef0")
    cloud_under_test.port.terminate("ln-000000000000")


def test_a_stray_node_is_never_terminated(cloud_under_test: CloudUnderTest) -> None:
    cut = live(cloud_under_test)
    assert cut.make_stray is not None and cut.node_alive is not None
    stray = cut.make_stray()
    launch(cut)  # one of ours next to it
    assert stray not in {n.node_id for n in cut.port.list_nodes(OURS)}
    cut.port.terminate(stray)
    assert cut.node_alive(stray)


def test_provider_errors_come_out_as_port_errors(cloud_under_test: CloudUnderTest) -> None:
    cases = dict(cloud_under_test.error_cases)
    assert cases, f"{cloud_under_test.name} registers no error case"
    for name, case in cases.items():
        with pytest.raises(CloudError) as raised:
            case.provoke()
        assert type(raised.value) is case.expected, f"{name}: {raised.value!r}"
        assert str(raised.value), name


def test_launch_refuses_what_it_cannot_launch(cloud_under_test: CloudUnderTest) -> None:
    port = cloud_under_test.port
    offering = cheapest(cloud_under_test, Market.ON_DEMAND)
    with pytest.raises(CloudError):
        port.launch(NodeSpec(offering, "n", cloud_under_test.user_data), token="")
    elsewhere = NodeSpec(replace(offering, cloud="another-cloud"), "n", "true")
    with pytest.raises(CloudError):
        port.launch(elsewhere, token="a-elsewhere")
