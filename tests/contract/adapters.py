"""The adapters the contract suites run against: the one place to register a new one.

Each contract test runs once per entry of :data:`CLOUDS` (through the
``cloud_under_test`` fixture) and of :data:`STORES` (``store_under_test``).

Adding a cloud adapter (for example ``gce-recorded`` or ``azure-recorded``):

1. Write a factory: a context manager ``factory(request) -> Iterator[CloudUnderTest]``.
   ``request`` is pytest's ``FixtureRequest``: take what you need from it
   (``request.getfixturevalue("tmp_path")``, ``"moto_server"``, ...) so that a session
   service starts only when an adapter needs it. Clean up after the ``yield``.
2. Fill in :class:`CloudUnderTest`:

   - ``port``: the :class:`~adapters.base.CloudPort` under test.
   - ``live``: True when launch, list and terminate really change state on the other
     side (the local cloud, moto). With False (recorded HTTP answers, e.g. libcloud's
     ``MockHttp`` with its shipped GCE/Azure fixtures) the tests that need state to
     change are skipped. What is still checked: offerings; that ``launch`` answers
     with a node on the requested market carrying the tags it was given plus
     ``managed-by`` (a recording must echo the request's labels/tags, or this fails);
     that terminating an unknown id is silent; the error cases.
   - ``count_nodes(tags)``, ``make_stray()``, ``node_alive(id)``: the cloud as seen
     *without* the port (moto through boto3, the local driver directly), for the live
     checks: how many live nodes carry ``tags``; launch a node without our tags and
     return its id; whether a node is still running. Leave them None when not live.
   - ``error_cases``: name -> :class:`ErrorCase`, a call that makes the provider fail
     in a known way and the exact port error class it must come out as (recorded
     error answers are fine: a GCE ``QUOTA_EXCEEDED`` body, an Azure 429, ...).
   - ``user_data``: a boot script the cloud runs (the local cloud really runs it).
3. Add the factory to :data:`CLOUDS` under its id.

Adding a checkpoint store: the same with :class:`StoreUnderTest` and :data:`STORES`.
``names``, ``corrupt`` and ``delete`` reach the stored objects without the store's
logic (names relative to the store's prefix); ``error_cases`` are calls that make the
storage fail, each of which must raise ``CheckpointError``.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from libcloud.compute.types import NodeState

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    AuthError,
    CloudError,
    CloudPort,
    NodeSpec,
    QuotaError,
    ThrottledError,
)
from adapters.checkpoints import (
    DEFAULT_CONTAINER,
    LibcloudCheckpointStore,
    checkpoint_store_from_uri,
)
from adapters.clouds.ec2 import make_ec2_cloud
from adapters.local import LocalCloudConfig, make_local_cloud
from adapters.storage_uri import StorageLocation, open_storage
from tests.contract import recorded_adapters as recorded
from tests.support import aws
from tests.support.moto_server import MotoServer, free_port


@dataclass(frozen=True)
class ErrorCase:
    """``provoke()`` makes the provider fail; it must raise exactly ``expected``."""

    expected: type[CloudError]
    provoke: Callable[[], object]


@dataclass(frozen=True)
class CloudUnderTest:
    name: str
    port: CloudPort
    live: bool
    count_nodes: Callable[[Mapping[str, str]], int] | None = None
    make_stray: Callable[[], str] | None = None
    node_alive: Callable[[str], bool] | None = None
    error_cases: Mapping[str, ErrorCase] = field(default_factory=dict)
    user_data: str = "true"


@dataclass(frozen=True)
class StoreUnderTest:
    name: str
    store: LibcloudCheckpointStore
    #: Where ``store`` keeps its objects, to build other stores over the same place.
    location: StorageLocation
    #: Replace the bytes of the object ``name`` (relative to the store's prefix).
    corrupt: Callable[[str, bytes], None]
    #: Delete the object ``name`` (relative to the store's prefix).
    delete: Callable[[str], None]
    #: Names of the stored objects (relative to the store's prefix), sorted.
    names: Callable[[], list[str]]
    #: Calls that make the storage fail; each must raise CheckpointError.
    error_cases: Mapping[str, Callable[[], object]] = field(default_factory=dict)


CloudFactory = Callable[[pytest.FixtureRequest], contextlib.AbstractContextManager[CloudUnderTest]]
StoreFactory = Callable[[pytest.FixtureRequest], contextlib.AbstractContextManager[StoreUnderTest]]


# -- clouds ---------------------------------------------------------------------------------


@contextlib.contextmanager
def local_cloud(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    config = LocalCloudConfig(
        state_dir=tmp_path / "local-cloud",
        regions=("us-central1",),
        vcpu_quota_per_region=6,
        launch_delay_s=0.0,
        terminate_grace_s=0.2,
    )
    driver, port = make_local_cloud(config)

    def live_nodes(tags: Mapping[str, str]) -> list[Any]:
        return [
            n
            for n in driver.list_nodes()
            if n.state != NodeState.TERMINATED
            and all(n.extra["tags"].get(k) == v for k, v in tags.items())
        ]

    def make_stray() -> str:
        [size] = [s for s in driver.list_sizes() if s.extra["vcpus"] == 2][:1]
        [image] = driver.list_images()
        return str(driver.create_node("stray", size, image, ex_userdata="true").id)

    def launch_over_quota() -> object:
        biggest = max(port.list_offerings(), key=lambda o: o.vcpus)
        assert biggest.vcpus > config.vcpu_quota_per_region
        return port.launch(NodeSpec(biggest, "too-big", "true"), token="over-quota")

    try:
        yield CloudUnderTest(
            name="local",
            port=port,
            live=True,
            count_nodes=lambda tags: len(live_nodes(tags)),
            make_stray=make_stray,
            node_alive=lambda node_id: any(n.id == node_id for n in live_nodes({})),
            error_cases={"vcpu quota": ErrorCase(QuotaError, launch_over_quota)},
        )
    finally:
        for node in live_nodes({}):
            driver.destroy_node(node)
        driver.close()


@contextlib.contextmanager
def ec2_moto(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    moto: MotoServer = request.getfixturevalue("moto_server")
    moto.reset()
    port = make_ec2_cloud(aws.ec2_config(moto))

    def with_auth_enforced() -> object:
        with moto.auth_enforced():
            return port.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE})

    def unreachable() -> object:
        return make_ec2_cloud(aws.ec2_config(moto, port=free_port())).list_nodes({})

    def unknown_ami() -> object:
        cloud = make_ec2_cloud(aws.ec2_config(moto, ami="ami-0000000000000000f"))
        offering = cloud.list_offerings()[0]
        return cloud.launch(NodeSpec(offering, "no-image", "true"), token="no-image")

    yield CloudUnderTest(
        name="ec2-moto",
        port=port,
        live=True,
        count_nodes=lambda tags: len(aws.instances(moto, tags)),
        make_stray=lambda: aws.run_stray_instance(moto),
        node_alive=lambda node_id: aws.instance_state(moto, node_id) in ("pending", "running"),
        error_cases={
            "wrong credentials": ErrorCase(AuthError, with_auth_enforced),
            "endpoint unreachable": ErrorCase(ThrottledError, unreachable),
            "unknown AMI": ErrorCase(CloudError, unknown_ami),
        },
        user_data="#!/bin/sh\nexec skybatch-worker\n",
    )


@contextlib.contextmanager
def gce_recorded(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    del request
    port = recorded.gce_recorded()
    yield CloudUnderTest(
        name="gce-recorded",
        port=port,
        live=True,  # libcloud's recordings behind a small in-memory world
        count_nodes=lambda tags: recorded.gce_count_nodes(port, tags),
        make_stray=lambda: recorded.gce_make_stray(port),
        node_alive=lambda node_id: recorded.gce_node_alive(port, node_id),
        error_cases={
            name: ErrorCase(expected, provoke)
            for name, (expected, provoke) in recorded.gce_error_cases(port).items()
        },
    )


@contextlib.contextmanager
def azure_recorded(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    del request
    port = recorded.azure_recorded()
    yield CloudUnderTest(
        name="azure-recorded",
        port=port,
        live=True,
        count_nodes=lambda tags: recorded.azure_count_nodes(port, tags),
        make_stray=lambda: recorded.azure_make_stray(port),
        node_alive=lambda node_id: recorded.azure_node_alive(port, node_id),
        error_cases={
            name: ErrorCase(expected, provoke)
            for name, (expected, provoke) in recorded.azure_error_cases(port).items()
        },
    )


#: Cloud adapters by id. See the module docstring to add one.
CLOUDS: Mapping[str, CloudFactory] = {
    "local": local_cloud,
    "ec2-moto": ec2_moto,
    "gce-recorded": gce_recorded,
    "azure-recorded": azure_recorded,
}


# -- checkpoint stores ---------------------------------------------------------------------


@contextlib.contextmanager
def local_store(request: pytest.FixtureRequest) -> Iterator[StoreUnderTest]:
    tmp_path: Path = request.getfixturevalue("tmp_path")
    where = open_storage(f"local://{tmp_path / 'objects'}", local_container=DEFAULT_CONTAINER)
    no_container = LibcloudCheckpointStore(where.driver, "no-such-container")
    yield _store_under_test(
        "local", where, {"missing container": lambda: no_container.latest("job-1")}
    )


@contextlib.contextmanager
def s3_moto(request: pytest.FixtureRequest) -> Iterator[StoreUnderTest]:
    moto: MotoServer = request.getfixturevalue("moto_server")
    moto.reset()
    aws.client(moto, "s3").create_bucket(Bucket="checkpoints")
    environ = aws.aws_environ(moto)
    uri = aws.s3_uri(moto, "checkpoints", "team-a/ckpt")
    store = checkpoint_store_from_uri(uri, environ=environ)

    def wrong_credentials() -> object:
        with moto.auth_enforced():
            return store.latest("job-1")

    def missing_bucket() -> object:
        other = aws.s3_uri(moto, "no-such-bucket", "x")
        return checkpoint_store_from_uri(other, environ=environ).latest("job-1")

    def unreachable() -> object:
        uri = f"s3://checkpoints/x?endpoint=http://{moto.host}:{free_port()}"
        return checkpoint_store_from_uri(uri, environ=environ).latest("job-1")

    yield _store_under_test(
        "s3-moto",
        open_storage(uri, local_container=DEFAULT_CONTAINER, environ=environ),
        {
            "wrong credentials": wrong_credentials,
            "missing bucket": missing_bucket,
            "endpoint unreachable": unreachable,
        },
    )


def _store_under_test(
    name: str, where: StorageLocation, error_cases: Mapping[str, Callable[[], object]]
) -> StoreUnderTest:
    """The store, plus object access that bypasses it (the same driver, no store logic)."""
    driver: Any = where.driver
    container, prefix = where.container, where.prefix

    def names() -> list[str]:
        with warnings.catch_warnings():
            # The local driver filters prefixes client-side and warns about it.
            warnings.filterwarnings("ignore", "Driver .* native object filtering", UserWarning)
            objects = list(
                driver.iterate_container_objects(driver.get_container(container), prefix=prefix)
            )
        return sorted(str(o.name)[len(prefix) :] for o in objects)

    def corrupt(name: str, data: bytes) -> None:
        driver.upload_object_via_stream(
            iter([data]), driver.get_container(container), prefix + name
        )

    def delete(name: str) -> None:
        driver.delete_object(driver.get_object(container, prefix + name))

    return StoreUnderTest(
        name,
        LibcloudCheckpointStore(where.driver, container, prefix=prefix),
        where,
        corrupt=corrupt,
        delete=delete,
        names=names,
        error_cases=error_cases,
    )


#: Checkpoint stores by id. See the module docstring to add one.
STORES: Mapping[str, StoreFactory] = {
    "local": local_store,
    "s3-moto": s3_moto,
}
