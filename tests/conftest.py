"""Shared fixtures: real services (gRPC on a free port, SQLite, the local cloud, moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from libcloud.compute.types import NodeState

from scheduler.api.client import SkybatchClient
from scheduler.config import ServeConfig
from scheduler.control import ControlSettings
from scheduler.service import Service
from scheduler.store.engine import sqlite_url
from tests.support.moto_server import MotoServer, start_moto_server
from tests.support.postgres import PostgresServer, start_postgres

ServiceFactory = Callable[..., Service]


def serve_config(data_dir: Path, **overrides: object) -> ServeConfig:
    base: dict[str, object] = {
        "data_dir": data_dir,
        # Explicit, so an exported SKYBATCH_DB_URL never points a test at a real store.
        "db_url": sqlite_url(data_dir / "skybatch.db"),
        "bind": "127.0.0.1:0",
        "control": ControlSettings(
            tick_interval_s=0.3, restart_overhead_s=2, heartbeat_timeout_s=10
        ),
        "local_launch_delay_s": 0.1,
    }
    base.update(overrides)
    return ServeConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[ServiceFactory]:
    """``factory(control_loop=True, data_dir=..., **config)`` starts a service; at
    teardown every node it launched is destroyed and every service stopped."""
    services: list[Service] = []

    def factory(
        *, control_loop: bool = True, data_dir: Path | None = None, **overrides: object
    ) -> Service:
        svc = Service(serve_config(data_dir or tmp_path, **overrides))
        services.append(svc)
        svc.start(control_loop=control_loop)
        return svc

    yield factory
    for svc in services:
        svc.stop(grace_s=0.5)
        for node in svc.driver.list_nodes():
            if node.state != NodeState.TERMINATED:
                svc.driver.destroy_node(node)


@pytest.fixture
def api_service(service_factory: ServiceFactory) -> Service:
    """The API alone: no control loop, so jobs stay where the test puts them."""
    return service_factory(control_loop=False)


@pytest.fixture
def api(api_service: Service) -> Iterator[SkybatchClient]:
    with SkybatchClient(api_service.address) as c:
        c.wait_ready()
        yield c


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """A moto server (S3, and EC2 through its bridge) started once per session; tests
    that need a clean account call ``reset()``."""
    with start_moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL server started once per session (see tests/support/postgres.py)."""
    with start_postgres() as server:
        yield server


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty database on the session's PostgreSQL server."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url)
