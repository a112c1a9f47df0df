"""Generic error and state mapping of the libcloud cloud port."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import InvalidCredsError, LibcloudError, ProviderError
from libcloud.common.types import ServiceUnavailableError as LibcloudUnavailable
from libcloud.compute.base import Node
from libcloud.compute.types import NodeState

from adapters.base import (
    AuthError,
    CapacityError,
    CloudError,
    NodeStatus,
    QuotaError,
    ThrottledError,
)
from adapters.libcloud_compute import LibcloudCloud, map_libcloud_error, node_status
from adapters.local import LocalCloudConfig, LocalCloudError, LocalNodeDriver, LocalProfile


@pytest.mark.parametrize(
    ("exc", "kind", "code"),
    [
        (RateLimitReachedError(), ThrottledError, "429"),
        (BaseHTTPError(429, "slow down"), ThrottledError, "429"),
        (BaseHTTPError(502, "bad gateway"), ThrottledError, "502"),
        (ProviderError("boom", 500), ThrottledError, "500"),
        (LibcloudUnavailable(), ThrottledError, "503"),
        (InvalidCredsError(), AuthError, "401"),
        (ProviderError("forbidden", 403), AuthError, "403"),
        (ConnectionResetError("reset"), ThrottledError, "ConnectionResetError"),
        (TimeoutError("timed out"), ThrottledError, "TimeoutError"),
        (requests.ConnectionError("refused"), ThrottledError, "ConnectionError"),
        (requests.ReadTimeout("slow"), ThrottledError, "ReadTimeout"),
        (ProviderError("no such thing", 404), CloudError, "ProviderError"),
        (LibcloudError("weird"), CloudError, "LibcloudError"),
        (ValueError("odd"), CloudError, "ValueError"),
    ],
)
def test_generic_error_mapping(exc: Exception, kind: type[CloudError], code: str) -> None:
    mapped = map_libcloud_error(exc)
    assert type(mapped) is kind
    assert mapped.code == code
    assert str(mapped)


def test_node_states_map_to_port_statuses() -> None:
    assert node_status(NodeState.RUNNING) == NodeStatus.RUNNING
    assert node_status(NodeState.STARTING) == NodeStatus.PENDING
    assert node_status(NodeState.STOPPED) == NodeStatus.STOPPED
    assert node_status(NodeState.TERMINATED) == NodeStatus.TERMINATED
    assert node_status(NodeState.ERROR) == NodeStatus.UNKNOWN
    assert node_status("something-new") == NodeStatus.UNKNOWN


class FailingDriver(LocalNodeDriver):
    """The local driver with its node API failing the way a provider's can."""

    def __init__(self, config: LocalCloudConfig, error: Exception) -> None:
        super().__init__(config)
        self.error = error

    def list_nodes(self, *args: Any, **kwargs: Any) -> list[Node]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (LocalCloudError("too many", code="VcpuLimitExceeded", limit=8), QuotaError),
        (LocalCloudError("none left", code="InsufficientInstanceCapacity"), CapacityError),
        (LocalCloudError("bad", code="InvalidParameterValue"), CloudError),
        (RateLimitReachedError(), ThrottledError),
        (InvalidCredsError(), AuthError),
        (RuntimeError("kaput"), CloudError),
    ],
)
def test_port_raises_only_cloud_errors(
    tmp_path: Path, error: Exception, kind: type[CloudError]
) -> None:
    config = LocalCloudConfig(state_dir=tmp_path)
    cloud = LibcloudCloud(FailingDriver(config, error), cloud="local", profile=LocalProfile(config))
    with pytest.raises(CloudError) as raised:
        cloud.list_nodes({})
    assert type(raised.value) is kind
    assert raised.value.__cause__ is error
    if isinstance(raised.value, QuotaError):
        assert raised.value.limit == 8
    with pytest.raises(kind):
        cloud.terminate("ln-000000000000")


def test_offerings_are_cached_for_the_ttl(tmp_path: Path) -> None:
    now = [0.0]
    config = LocalCloudConfig(state_dir=tmp_path)
    cloud = LibcloudCloud(
        LocalNodeDriver(config),
        cloud="local",
        profile=LocalProfile(config),
        catalog_ttl_s=60,
        clock=lambda: now[0],
    )
    first = cloud.list_offerings()
    now[0] = 59.0
    assert cloud.list_offerings() is first
    now[0] = 61.0
    again = cloud.list_offerings()
    assert again is not first and again == first
