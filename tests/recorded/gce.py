"""GCE on libcloud's recorded responses.

:class:`GCEWorld` answers what libcloud recorded (``GCEMockHttp``: zones, machine types,
networks, disk types, the aggregated instance and disk lists, operations) and adds a
small project state on top, so that the port's launch -> list -> terminate round trip
works: an instance inserted through the API is built from libcloud's recorded instance
(``zones_us-central1-a_instances_node-name.json``) with the request's name, machine type,
labels, metadata and scheduling, shows up in ``instances.get`` and the aggregated list,
and is gone after ``instances.delete``. Operations are libcloud's recorded ones. Failures
are scripted with our recorded error payloads (``tests/data/recorded/gce``).

libcloud recorded one project (``project_name``) and one zone with machine types
(``us-central1-a``); a world sells that zone only.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from libcloud.compute.drivers.gce import GCEConnection

from adapters.clouds.gce import GCEConfig, make_gce_cloud
from adapters.clouds.gce_driver import SkybatchGCEDriver
from adapters.libcloud_compute import LibcloudCloud
from tests.recorded.harness import (
    LIBCLOUD_TEST,
    RECORDED,
    libcloud_test_module,
    per_world,
    recorded,
)

PROJECT = "project_name"
ZONE = "us-central1-a"
REGION = "us-central1"
API = "https://www.googleapis.com/compute/v1/projects"
#: libcloud's test service-account key (a throwaway RSA key made for its tests).
SERVICE_ACCOUNT_KEY = LIBCLOUD_TEST / "common" / "fixtures" / "google" / "pkey.json"
#: A cached OAuth token valid until 2099, so that no token request is ever made.
TOKEN_CACHE = RECORDED / "gce" / "oauth_token.json"

_PREFIX = f"/compute/v1/projects/{PROJECT}"
_INSTANCES = re.compile(r"/zones/(?P<zone>[^/]+)/instances")
_INSTANCE = re.compile(r"/zones/(?P<zone>[^/]+)/instances/(?P<name>[^/]+)")
_DISK = re.compile(r"/zones/(?P<zone>[^/]+)/disks/(?P<name>[^/]+)")
_OPERATION = re.compile(r"/zones/(?P<zone>[^/]+)/operations/(?P<name>[^/]+)")

Response = tuple[int, str, dict[str, str], str]
_JSON = {"content-type": "application/json; charset=UTF-8"}
_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}


def _libcloud_fixture(name: str) -> dict[str, Any]:
    path = LIBCLOUD_TEST / "compute" / "fixtures" / "gce" / name
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _response(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return status, body, dict(headers or _JSON), _REASONS.get(status, "Error")


@dataclass
class _Scripted:
    method: str
    path: re.Pattern[str]
    status: int
    fixture: str


@dataclass
class GCEWorld:
    """The state behind one recorded GCE driver, and a log of its calls."""

    instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    disks: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: (method, path below the project) of every API call, in order.
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: Instances that exist but do not show up in lists yet (lists lag behind inserts).
    unlisted: set[str] = field(default_factory=set)
    _scripted: list[_Scripted] = field(default_factory=list)
    _operation_errors: list[str] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(4_000_000_000_000_000))

    def fail_next(self, method: str, path: str, status: int, fixture: str) -> None:
        """Answer the next ``method`` call whose path fully matches the regex ``path``
        with our recorded payload ``fixture`` and HTTP ``status``."""
        self._scripted.append(_Scripted(method, re.compile(path), status, fixture))

    def fail_next_insert_operation(self, fixture: str) -> None:
        """Accept the next insert, then fail its operation with ``fixture`` (a DONE
        operation with an ``error``), the way GCE reports quota and capacity."""
        self._operation_errors.append(fixture)

    def preempt(self, name: str, zone: str = ZONE, status: str = "TERMINATED") -> None:
        """What GCE does to a preempted instance: stop it (it stays listed)."""
        self.instances[(zone, name)]["status"] = status

    def add_stray(self, name: str, zone: str = ZONE) -> str:
        """An instance someone else made in the project (no skybatch labels); its id."""
        self._insert(
            zone,
            {
                "name": name,
                "machineType": f"{API}/{PROJECT}/zones/{zone}/machineTypes/n1-standard-1",
                "disks": [{"boot": True, "autoDelete": True, "initializeParams": {}}],
            },
        )
        return str(self.instances[(zone, name)]["id"])

    def live_instances(self) -> list[dict[str, Any]]:
        """Our instances that are provisioning or running (not stopped or deleted)."""
        return [
            i
            for i in self.instances.values()
            if i["status"] in ("PROVISIONING", "STAGING", "RUNNING")
        ]

    def inserted(self) -> list[dict[str, Any]]:
        """The request bodies of every instances.insert, in order."""
        return [i["_request"] for i in self.instances.values()]

    # -- request handling ------------------------------------------------------------

    def handle(self, method: str, url: str, body: Any) -> Response | None:
        """Our answer to a request, or None to let libcloud's recordings answer."""
        parsed = urlparse(url)
        path = parsed.path.removeprefix(_PREFIX) or "/project"
        self.calls.append((method, path))
        for i, scripted in enumerate(self._scripted):
            if scripted.method == method and scripted.path.fullmatch(path):
                del self._scripted[i]
                return self._scripted_response(scripted, path)
        if (m := _INSTANCES.fullmatch(path)) and method == "POST":
            return self._insert(m["zone"], json.loads(body))
        if m := _INSTANCE.fullmatch(path):
            return self._instance(method, m["zone"], m["name"])
        if (m := _DISK.fullmatch(path)) and (m["zone"], m["name"]) in self.disks:
            return _response(200, json.dumps(self.disks[(m["zone"], m["name"])]))
        if (m := _OPERATION.fullmatch(path)) and m["name"] in self.operations:
            return _response(200, json.dumps(self.operations[m["name"]]))
        return None

    def add_to_aggregated(self, kind: str, body: str) -> str:
        """libcloud's recorded aggregated list of ``kind`` plus ours."""
        listing = json.loads(body)
        ours = self.instances if kind == "instances" else self.disks
        for (zone, name), resource in ours.items():
            if kind == "instances" and name in self.unlisted:
                continue
            scope = listing["items"].setdefault(f"zones/{zone}", {})
            scope.pop("warning", None)
            public = {k: v for k, v in resource.items() if not k.startswith("_")}
            scope.setdefault(kind, []).append(public)
        return json.dumps(listing)

    def _scripted_response(self, scripted: _Scripted, path: str) -> Response:
        m = _INSTANCE.fullmatch(path) or _INSTANCES.fullmatch(path)
        zone = m["zone"] if m else ZONE
        name = m.groupdict().get("name", "") if m else ""
        text = recorded("gce", scripted.fixture, project=PROJECT, zone=zone, name=name or "")
        headers = {"content-type": "text/html; charset=UTF-8"} if text.startswith("<") else None
        return _response(scripted.status, text, headers)

    def _operation(self, zone: str, kind: str, target: str, error: str | None) -> Response:
        number = next(self._ids)
        name = f"operation-{number}-{kind}"
        link = f"{API}/{PROJECT}/zones/{zone}"
        pending = _libcloud_fixture("zones_us-central1-a_instances_post.json")
        if error is None:
            done = _libcloud_fixture("operations_operation_zones_us-central1-a_instances_post.json")
        else:
            done = json.loads(
                recorded("gce", error, project=PROJECT, zone=zone, name=target, operation=name)
            )
        for op in (pending, done):
            op.update(
                name=name,
                id=str(number),
                operationType=kind,
                zone=link,
                targetLink=f"{link}/instances/{target}",
                selfLink=f"{link}/operations/{name}",
            )
        self.operations[name] = done
        return _response(200, json.dumps(pending))

    def _insert(self, zone: str, request: dict[str, Any]) -> Response:
        name = request["name"]
        if self._operation_errors:
            return self._operation(zone, "insert", name, self._operation_errors.pop(0))
        if (zone, name) in self.instances:
            text = recorded(
                "gce", "insert_already_exists_409.json", project=PROJECT, zone=zone, name=name
            )
            return _response(409, text)
        link = f"{API}/{PROJECT}/zones/{zone}"
        instance = _libcloud_fixture("zones_us-central1-a_instances_node-name.json")
        boot = request["disks"][0]["initializeParams"]
        disk_name = boot.get("diskName") or name
        instance.update(
            id=str(next(self._ids)),
            name=name,
            zone=link,
            selfLink=f"{link}/instances/{name}",
            machineType=request["machineType"],
            description=request.get("description", ""),
            labels=request.get("labels", {}),
            labelFingerprint="42WmSpB8rSM=",
            metadata={**request.get("metadata", {}), "kind": "compute#metadata"},
            scheduling=request.get("scheduling", {}),
            status="RUNNING",
            creationTimestamp=datetime.now(UTC).isoformat(timespec="milliseconds"),
        )
        instance["metadata"]["fingerprint"] = "42WmSpB8rSM="
        instance["disks"][0]["source"] = f"{link}/disks/{disk_name}"
        instance["disks"][0]["autoDelete"] = request["disks"][0].get("autoDelete", True)
        instance["_request"] = copy.deepcopy(request)
        disk = _libcloud_fixture("zones_us-central1-a_disks_lcdisk.json")
        disk.update(
            id=str(next(self._ids)),
            name=disk_name,
            zone=link,
            selfLink=f"{link}/disks/{disk_name}",
            sizeGb=str(boot.get("diskSizeGb") or 10),
            description="",
        )
        self.instances[(zone, name)] = instance
        self.disks[(zone, disk_name)] = disk
        return self._operation(zone, "insert", name, None)

    def _instance(self, method: str, zone: str, name: str) -> Response | None:
        instance = self.instances.get((zone, name))
        if instance is None:
            if method == "GET" and name in _RECORDED_INSTANCES:
                return None  # libcloud's recording answers
            text = recorded(
                "gce", "instance_not_found_404.json", project=PROJECT, zone=zone, name=name
            )
            return _response(404, text)
        if method == "DELETE":
            del self.instances[(zone, name)]
            if instance["disks"][0].get("autoDelete"):
                source = instance["disks"][0]["source"]
                self.disks.pop((zone, source.rsplit("/", 1)[-1]), None)
            return self._operation(zone, "delete", name, None)
        public = {k: v for k, v in instance.items() if not k.startswith("_")}
        return _response(200, json.dumps(public))


_RECORDED_INSTANCES = frozenset(
    {"node-name", "lcnode-000", "lcnode-001", "stopped-node", "custom-node", "sn-node-name"}
)


def _mock_class() -> type[Any]:
    base: type[Any] = libcloud_test_module("compute.test_gce").GCEMockHttp

    class RecordedGCEHttp(base):  # type: ignore[misc]
        """libcloud's ``GCEMockHttp`` with a :class:`GCEWorld` in front."""

        world: GCEWorld

        def _get_request(
            self, method: str, url: str, body: Any = None, headers: Any = None
        ) -> Response:
            answer = self.world.handle(method, url, body)
            if answer is not None:
                return answer
            status, text, response_headers, reason = super()._get_request(
                method, url, body, headers
            )
            path = urlparse(url).path.removeprefix(_PREFIX)
            if path in ("/aggregated/instances", "/aggregated/disks"):
                text = self.world.add_to_aggregated(path.rsplit("/", 1)[-1], text)
            return status, text, response_headers, reason

    return RecordedGCEHttp


def recorded_driver_class(world: GCEWorld) -> type[SkybatchGCEDriver]:
    """:class:`SkybatchGCEDriver` talking to ``world`` and libcloud's recordings."""
    http = per_world(_mock_class(), world, "WorldGCEHttp")
    connection = type("RecordedGCEConnection", (GCEConnection,), {"conn_class": http})
    return type("RecordedGCEDriver", (SkybatchGCEDriver,), {"connectionCls": connection})


def recorded_gce_config(**overrides: Any) -> GCEConfig:
    """A config for libcloud's recorded project: its test key, a cached token, the one
    zone with recorded machine types, and a disk type it recorded."""
    values: dict[str, Any] = {
        "project": PROJECT,
        "zones": (ZONE,),
        "credentials_file": SERVICE_ACCOUNT_KEY,
        "token_cache_file": TOKEN_CACHE,
        "disk_type": "pd-standard",
    }
    values.update(overrides)
    return GCEConfig(**values)


def gce_recorded_cloud(
    world: GCEWorld | None = None, **config: Any
) -> tuple[LibcloudCloud, GCEWorld]:
    """``make_gce_cloud`` on libcloud's recorded responses, and the world behind it."""
    world = world or GCEWorld()
    cloud = make_gce_cloud(recorded_gce_config(**config), driver_cls=recorded_driver_class(world))
    return cloud, world


def load_instance(name: str) -> dict[str, Any]:
    """One of our recorded instance resources."""
    loaded: dict[str, Any] = json.loads((RECORDED / "gce" / name).read_text(encoding="utf-8"))
    return loaded
