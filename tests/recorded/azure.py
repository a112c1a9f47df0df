"""Azure Resource Manager on libcloud's recorded responses.

:class:`AzureWorld` answers what libcloud recorded (``AzureMockHttp``: the OAuth token,
the compute provider's locations, the VM sizes of ``eastus``, the VMs and instance views
of resource group ``000000``) and adds a small subscription state on top, so that the
port's launch -> list -> terminate round trip works: a VM PUT through the API is built
from libcloud's recorded VM (``..._virtualMachines_test_node_1.json``) merged with the
request, a NIC PUT from its recorded NIC, power states come from its recorded instance
view. Failures are scripted with our recorded error payloads (``tests/data/recorded/azure``).

libcloud recorded one subscription (``99999999``), tenant ``77777777-...`` and region
``eastus`` with three sizes (``Standard_A0..A2``); a world sells that region only.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlparse

from libcloud.common.azure_arm import AzureResourceManagementConnection

from adapters.clouds.azure import AzureConfig, make_azure_cloud
from adapters.clouds.azure_driver import SkybatchAzureDriver
from adapters.libcloud_compute import LibcloudCloud
from tests.recorded.harness import LIBCLOUD_TEST, libcloud_test_module, per_world, recorded

TENANT = "77777777-7777-7777-7777-777777777777"
SUBSCRIPTION = "99999999"
RESOURCE_GROUP = "000000"
REGION = "eastus"
SUBNET_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers"
    "/Microsoft.Network/virtualNetworks/000000/subnets/000000"
)

_GROUP = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/(?P<rg>[^/]+)/providers"
_VMS = re.compile(_GROUP + r"/Microsoft\.Compute/virtualMachines", re.IGNORECASE)
_VM = re.compile(_GROUP + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)", re.IGNORECASE)
_VIEW = re.compile(
    _GROUP + r"/Microsoft\.Compute/virtualMachines/(?P<name>[^/]+)/InstanceView", re.IGNORECASE
)
_NIC = re.compile(_GROUP + r"/Microsoft\.Network/networkInterfaces/(?P<name>[^/]+)", re.IGNORECASE)

Response = tuple[int, str, dict[str, str], str]
_JSON = {"content-type": "application/json; charset=utf-8"}
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 404: "Not Found"}


def _libcloud_fixture(name: str) -> dict[str, Any]:
    path = LIBCLOUD_TEST / "compute" / "fixtures" / "azure_arm" / name
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
    headers: dict[str, str]


@dataclass
class AzureWorld:
    """The state behind one recorded Azure driver, and a log of its calls."""

    vms: dict[str, dict[str, Any]] = field(default_factory=dict)
    nics: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: VM name -> instance-view status codes (``PowerState/running`` ...).
    power: dict[str, list[str]] = field(default_factory=dict)
    #: (method, path) of every API call, in order (token requests included).
    calls: list[tuple[str, str]] = field(default_factory=list)
    #: Request bodies of every VM PUT, in order.
    vm_puts: list[dict[str, Any]] = field(default_factory=list)
    #: VMs that exist but do not show up in lists yet (ARM's lists lag behind).
    unlisted: set[str] = field(default_factory=set)
    _scripted: list[_Scripted] = field(default_factory=list)

    def fail_next(
        self,
        method: str,
        path: str,
        status: int,
        fixture: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``method`` call whose path fully matches the regex ``path``
        with our recorded payload ``fixture`` and HTTP ``status``."""
        self._scripted.append(
            _Scripted(method, re.compile(path, re.IGNORECASE), status, fixture, headers or {})
        )

    def add_stray(self, name: str) -> str:
        """A VM someone else made in the resource group (no skybatch tags); its id."""
        body = {
            "location": REGION,
            "tags": {},
            "properties": {
                "hardwareProfile": {"vmSize": "Standard_A1"},
                "osProfile": {"computerName": name},
                "networkProfile": {"networkInterfaces": []},
            },
        }
        self._vm("PUT", RESOURCE_GROUP, name, json.dumps(body))
        self.vm_puts.pop()
        return str(self.vms[name]["id"])

    def live_vms(self) -> list[dict[str, Any]]:
        """VMs that are provisioning or running (not deallocated, failed or deleted)."""
        return [
            vm
            for name, vm in self.vms.items()
            if any(
                code in ("PowerState/running", "PowerState/starting") for code in self.power[name]
            )
        ]

    def evict(self, name: str) -> None:
        """What Azure does to an evicted Spot VM with eviction policy Deallocate."""
        self.power[name] = ["ProvisioningState/succeeded", "PowerState/deallocated"]

    def fail_provisioning(self, name: str, code: str = "AllocationFailed") -> None:
        """An accepted create whose provisioning failed later."""
        self.vms[name]["properties"]["provisioningState"] = "Failed"
        self.power[name] = [f"ProvisioningState/failed/{code}"]

    # -- request handling ------------------------------------------------------------

    def handle(self, method: str, url: str, body: Any) -> Response | None:
        path = urlparse(url).path
        self.calls.append((method, path))
        for i, scripted in enumerate(self._scripted):
            if scripted.method == method and scripted.path.fullmatch(path):
                del self._scripted[i]
                text = recorded("azure", scripted.fixture)
                return _response(scripted.status, text, {**_JSON, **scripted.headers})
        if (m := _VIEW.fullmatch(path)) and m["name"] in self.vms:
            return self._instance_view(m["name"])
        if (m := _VMS.fullmatch(path)) and method == "GET":
            return self._list(m["rg"])
        if m := _VM.fullmatch(path):
            return self._vm(method, m["rg"], m["name"], body)
        if m := _NIC.fullmatch(path):
            return self._nic(method, path, m["name"], body)
        return None

    def _list(self, resource_group: str) -> Response:
        recorded_vms = [
            vm
            for page in ("", "_1")
            for vm in _libcloud_fixture(
                f"_subscriptions_{SUBSCRIPTION}_providers_Microsoft_Compute_virtualMachines{page}.json"
            )["value"]
            if f"/resourceGroups/{resource_group}/".lower() in vm["id"].lower()
        ]
        ours = [vm for name, vm in self.vms.items() if name not in self.unlisted]
        return _response(200, json.dumps({"value": recorded_vms + ours}))

    def _vm(self, method: str, resource_group: str, name: str, body: Any) -> Response:
        vm = self.vms.get(name)
        if method == "GET":
            if vm is None:
                return _response(404, recorded("azure", "resource_not_found_404.json"))
            return _response(200, json.dumps(vm))
        if method == "DELETE":
            if vm is None:
                return _response(204, "")
            del self.vms[name]
            self.power.pop(name, None)
            for ref in vm["properties"]["networkProfile"]["networkInterfaces"]:
                if ref.get("properties", {}).get("deleteOption") == "Delete":
                    self.nics.pop(ref["id"].rsplit("/", 1)[-1], None)
            return _response(202, "")
        request = json.loads(body)
        self.vm_puts.append(copy.deepcopy(request))
        created = vm is None
        vm = _libcloud_fixture(
            f"_subscriptions_{SUBSCRIPTION}_resourceGroups_000000_providers"
            "_Microsoft_Compute_virtualMachines_test_node_1.json"
        )
        vm["properties"]["storageProfile"].pop("dataDisks", None)
        vm.update(
            id=(
                f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.Compute/virtualMachines/{name}"
            ),
            name=name,
            location=request["location"],
            tags=request.get("tags", {}),
        )
        properties = copy.deepcopy(request["properties"])
        properties["osProfile"].pop("adminPassword", None)
        properties["osProfile"].pop("customData", None)  # ARM never returns it
        vm["properties"].update(properties)
        vm["properties"]["timeCreated"] = datetime.now(UTC).isoformat()
        vm["properties"]["provisioningState"] = "Creating" if created else "Updating"
        answer = json.dumps(vm)
        vm["properties"]["provisioningState"] = "Succeeded"
        self.vms[name] = vm
        self.power.setdefault(name, ["ProvisioningState/succeeded", "PowerState/running"])
        return _response(201 if created else 200, answer)

    def _instance_view(self, name: str) -> Response:
        view = _libcloud_fixture(
            f"_subscriptions_{SUBSCRIPTION}_resourceGroups_000000_providers"
            "_Microsoft_Compute_virtualMachines_test_node_1_InstanceView.json"
        )
        view["statuses"] = [
            {"code": code, "level": "Error" if "failed" in code else "Info"}
            for code in self.power[name]
        ]
        return _response(200, json.dumps(view))

    def _nic(self, method: str, path: str, name: str, body: Any) -> Response | None:
        if method == "PUT":
            nic = _libcloud_fixture(
                f"_subscriptions_{SUBSCRIPTION}_resourceGroups_000000_providers"
                "_Microsoft_Network_networkInterfaces_test_node_1_nic.json"
            )
            request = json.loads(body)
            nic.update(id=path, name=name, location=request["location"], tags=request["tags"])
            asked = request["properties"]["ipConfigurations"][0]
            config = nic["properties"]["ipConfigurations"][0]
            config["name"] = asked["name"]
            config["properties"]["subnet"] = asked["properties"]["subnet"]
            self.nics[name] = nic
            return _response(200, json.dumps(nic))
        if method == "DELETE":
            self.nics.pop(name, None)
            return _response(202, "")
        if name in self.nics:
            return _response(200, json.dumps(self.nics[name]))
        return None


def _mock_class() -> type[Any]:
    base: type[Any] = libcloud_test_module("compute.test_azure_arm").AzureMockHttp

    class RecordedAzureHttp(base):  # type: ignore[misc]
        """libcloud's ``AzureMockHttp`` with an :class:`AzureWorld` in front."""

        world: AzureWorld
        responses: list[Any] = []  # noqa: RUF012  # libcloud's queue, kept empty per class

        def _get_request(
            self, method: str, url: str, body: Any = None, headers: Any = None
        ) -> Response:
            answer = self.world.handle(method, url, body)
            if answer is not None:
                return answer
            result: Response = super()._get_request(method, url, body, headers)
            return result

    return RecordedAzureHttp


def recorded_driver_class(world: AzureWorld) -> type[SkybatchAzureDriver]:
    """:class:`SkybatchAzureDriver` talking to ``world`` and libcloud's recordings."""
    http = per_world(_mock_class(), world, "WorldAzureHttp")
    connection = type(
        "RecordedAzureConnection", (AzureResourceManagementConnection,), {"conn_class": http}
    )
    return type("RecordedAzureDriver", (SkybatchAzureDriver,), {"connectionCls": connection})


def recorded_azure_config(**overrides: Any) -> AzureConfig:
    """A config for libcloud's recorded subscription, tenant and region."""
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "subscription_id": SUBSCRIPTION,
        "client_id": "55555555-5555-5555-5555-555555555555",
        "client_secret": "p4ssw0rd",
        "resource_group": RESOURCE_GROUP,
        "regions": (REGION,),
        "subnet_id": SUBNET_ID,
    }
    values.update(overrides)
    return AzureConfig(**values)


def azure_recorded_cloud(
    world: AzureWorld | None = None, **config: Any
) -> tuple[LibcloudCloud, AzureWorld]:
    """``make_azure_cloud`` on libcloud's recorded responses, and the world behind it."""
    world = world or AzureWorld()
    cloud = make_azure_cloud(
        recorded_azure_config(**config), driver_cls=recorded_driver_class(world)
    )
    return cloud, world
