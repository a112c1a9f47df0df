"""Every RPC of every service in the generated descriptors, found by walking the
``scheduler.api.gen`` package: a new ``.proto`` file or a new RPC is fuzzed without
touching the tests."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass

import scheduler.api.gen.skybatch.v1 as gen


@dataclass(frozen=True)
class Rpc:
    method: MethodDescriptor

    @property
    def path(self) -> str:
        """The HTTP/2 path a channel calls: ``/skybatch.v1.JobService/SubmitJob``."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def request_class(self) -> type[Any]:
        return GetMessageClass(self.method.input_type)

    @property
    def response_class(self) -> type[Any]:
        return GetMessageClass(self.method.output_type)

    @property
    def client_streaming(self) -> bool:
        return bool(self.method.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.method.server_streaming)

    def __str__(self) -> str:
        return self.path.lstrip("/")


def services() -> list[ServiceDescriptor]:
    found: dict[str, ServiceDescriptor] = {}
    for info in pkgutil.iter_modules(gen.__path__):
        if not info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(f"{gen.__name__}.{info.name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            found[service.full_name] = service
    return [found[name] for name in sorted(found)]


def rpcs() -> list[Rpc]:
    return [Rpc(m) for s in services() for m in s.methods]
