"""Google Cloud Storage and Azure Blob Storage on libcloud's recorded responses.

libcloud recorded listings, object heads and uploads of its own test objects (``1.zip``,
``object1.txt``); a checkpoint's layout (``{job}/{seq}/files/...``, ``MANIFEST.json``)
is not among them. :class:`BlobWorld` therefore keeps the objects of one bucket in
memory and answers each request the way the recordings answer it: the same XML
documents (libcloud's ``list_container_objects.xml`` and ``list_objects_1.xml`` filled
with our objects), the same headers (``x-goog-*``, ``x-ms-*``, ``etag``,
``content-md5``). Requests outside that bucket go to libcloud's recordings.

libcloud's ``MockHttp`` hands response bodies to ``requests-mock`` as text, so a
downloaded object comes back UTF-8 encoded: tests store UTF-8 text only.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse
from xml.etree import ElementTree

from libcloud.storage.base import StorageDriver
from libcloud.storage.drivers.azure_blobs import AzureBlobsConnection, AzureBlobsStorageDriver
from libcloud.storage.drivers.google_storage import (
    GoogleStorageConnection,
    GoogleStorageDriver,
    GoogleStorageJSONConnection,
)

from tests.recorded.harness import LIBCLOUD_TEST, libcloud_test_module, per_world

BUCKET = "skybatch-checkpoints"
LAST_MODIFIED = "Thu, 13 Sep 2012 07:13:22 GMT"  # as in libcloud's recorded heads

Response = tuple[int, str, dict[str, str], str]

# Error bodies in each service's documented XML format.
_GCS_ERRORS = {
    429: "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please"
    " reduce your request rate.</Message></Error>",
    500: "<?xml version='1.0' encoding='UTF-8'?><Error><Code>InternalError</Code><Message>We"
    " encountered an internal error. Please try again.</Message></Error>",
    503: "<?xml version='1.0' encoding='UTF-8'?><Error><Code>ServiceUnavailable</Code>"
    "<Message>We encountered an internal error. Please try again.</Message></Error>",
}
_AZURE_ERRORS = {
    429: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>Ingress'
    " is over the account limit.\nRequestId:4b3a1f0e-201e-0032-6d2a-8f1a3e000000\nTime:"
    "2024-05-14T13:41:09.0000000Z</Message></Error>",
    500: '<?xml version="1.0" encoding="utf-8"?><Error><Code>InternalError</Code><Message>The'
    " server encountered an internal error. Please retry the request.\nRequestId:"
    "4b3a1f0e-201e-0032-6d2a-8f1a3e000001\nTime:2024-05-14T13:41:09.0000000Z</Message></Error>",
    503: '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The'
    " server is currently unable to receive requests. Please retry your request.\nRequestId:"
    "4b3a1f0e-201e-0032-6d2a-8f1a3e000002\nTime:2024-05-14T13:41:09.0000000Z</Message></Error>",
}
_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 404: "Not Found"}


def _response(status: int, body: str = "", headers: dict[str, str] | None = None) -> Response:
    return status, body, dict(headers or {}), _REASONS.get(status, "Error")


def _body_bytes(body: Any) -> bytes:
    """What the client sent: libcloud streams uploads as an iterator of chunks."""
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return b"".join(c if isinstance(c, bytes) else str(c).encode() for c in body)


def _storage_fixture(provider: str, name: str) -> str:
    path = LIBCLOUD_TEST / "storage" / "fixtures" / provider / name
    return path.read_text(encoding="utf-8-sig")


@dataclass
class BlobWorld:
    """One bucket (container) of objects, and what happened to it."""

    objects: dict[str, bytes] = field(default_factory=dict)
    content_types: dict[str, str] = field(default_factory=dict)
    #: Object names in the order their upload completed.
    uploads: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    bucket_exists: bool = True
    #: (method, object-name regex, HTTP status): answer the next such call with an error.
    failures: list[tuple[str, re.Pattern[str], int]] = field(default_factory=list)
    _blocks: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def fail_next(self, method: str, name: str, status: int) -> None:
        self.failures.append((method, re.compile(name), status))

    def corrupt(self, name: str, data: bytes) -> None:
        """Change an object behind the store's back (bit rot, a stray writer)."""
        self.objects[name] = data

    def _failure(self, method: str, name: str) -> int | None:
        for i, (m, pattern, status) in enumerate(self.failures):
            if m == method and pattern.fullmatch(name):
                del self.failures[i]
                return status
        return None

    def _store(self, name: str, data: bytes, content_type: str) -> None:
        self.objects[name] = data
        self.content_types[name] = content_type
        self.uploads.append(name)


def _md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# -- Google Cloud Storage (XML API, as libcloud's GoogleStorageDriver speaks it) ----------


def _gcs_listing(world: BlobWorld, prefix: str) -> str:
    """libcloud's recorded ``ListBucketResult`` with our objects as its ``Contents``."""
    ns = "http://doc.s3.amazonaws.com/2006-03-01"
    ElementTree.register_namespace("", ns)
    root = ElementTree.fromstring(_storage_fixture("google_storage", "list_container_objects.xml"))
    template = root.find(f"{{{ns}}}Contents")
    assert template is not None
    root.remove(template)
    root.find(f"{{{ns}}}Name").text = BUCKET  # type: ignore[union-attr]
    root.find(f"{{{ns}}}Prefix").text = prefix  # type: ignore[union-attr]
    for name in sorted(n for n in world.objects if n.startswith(prefix)):
        entry = ElementTree.fromstring(ElementTree.tostring(template))
        data = world.objects[name]
        entry.find(f"{{{ns}}}Key").text = name  # type: ignore[union-attr]
        entry.find(f"{{{ns}}}ETag").text = f'"{hashlib.md5(data).hexdigest()}"'  # type: ignore[union-attr]
        entry.find(f"{{{ns}}}Size").text = str(len(data))  # type: ignore[union-attr]
        root.append(entry)
    return ElementTree.tostring(root, encoding="unicode")


def _gcs_object_headers(world: BlobWorld, name: str) -> dict[str, str]:
    data = world.objects[name]
    return {
        "content-type": world.content_types.get(name, "application/octet-stream"),
        "etag": f'"{hashlib.md5(data).hexdigest()}"',
        "content-length": str(len(data)),
        "x-goog-stored-content-length": str(len(data)),
        "x-goog-hash": f"md5={_md5_b64(data)}",
        "last-modified": LAST_MODIFIED,
    }


def handle_gcs(world: BlobWorld, method: str, url: str, body: Any, headers: Any) -> Response | None:
    parsed = urlparse(url)
    path = unquote(parsed.path)
    world.calls.append((method, path))
    if path != f"/{BUCKET}" and not path.startswith(f"/{BUCKET}/"):
        return None
    if not world.bucket_exists:
        return _response(404)
    name = path.removeprefix(f"/{BUCKET}").removeprefix("/")
    if (status := world._failure(method, name)) is not None:
        _body_bytes(body)
        return _response(status, _GCS_ERRORS.get(status, _GCS_ERRORS[500]))
    if not name:
        if method == "HEAD":
            return _response(200)
        prefix = parse_qs(parsed.query).get("prefix", [""])[0]
        return _response(200, _gcs_listing(world, prefix))
    if method == "PUT":
        content_type = (headers or {}).get("Content-Type", "application/octet-stream")
        data = _body_bytes(body)
        world._store(name, data, content_type)
        return _response(200, "", {"etag": f'"{hashlib.md5(data).hexdigest()}"'})
    if name not in world.objects:
        return _response(404)
    if method == "HEAD":
        return _response(200, "", _gcs_object_headers(world, name))
    if method == "GET":
        return _response(200, world.objects[name].decode(), _gcs_object_headers(world, name))
    if method == "DELETE":
        del world.objects[name]
        world.deletes.append(name)
        return _response(204)
    return None


# -- Azure Blob Storage ---------------------------------------------------------------------


def _azure_listing(world: BlobWorld, prefix: str) -> str:
    """libcloud's recorded ``EnumerationResults`` with our blobs."""
    root = ElementTree.fromstring(_storage_fixture("azure_blobs", "list_objects_1.xml"))
    root.set("ContainerName", BUCKET)
    blobs = root.find("Blobs")
    assert blobs is not None
    template = blobs.find("Blob")
    assert template is not None
    for blob in list(blobs):
        blobs.remove(blob)
    for name in sorted(n for n in world.objects if n.startswith(prefix)):
        entry = ElementTree.fromstring(ElementTree.tostring(template))
        data = world.objects[name]
        entry.find("Name").text = name  # type: ignore[union-attr]
        props = entry.find("Properties")
        assert props is not None
        props.find("Content-Length").text = str(len(data))  # type: ignore[union-attr]
        props.find("Content-MD5").text = _md5_b64(data)  # type: ignore[union-attr]
        props.find("Content-Type").text = world.content_types.get(name)  # type: ignore[union-attr]
        metadata = entry.find("Metadata")
        if metadata is not None:
            entry.remove(metadata)
        blobs.append(entry)
    marker = root.find("NextMarker")
    if marker is not None:
        marker.text = None
    max_results = root.find("MaxResults")
    if max_results is not None:
        max_results.text = "100"
    return ElementTree.tostring(root, encoding="unicode")


def _azure_blob_headers(world: BlobWorld, name: str) -> dict[str, str]:
    data = world.objects[name]
    return {
        "content-length": str(len(data)),
        "content-type": world.content_types.get(name, "application/octet-stream"),
        "content-md5": _md5_b64(data),
        "etag": '"0x8CFB877BB56A6FB"',
        "last-modified": LAST_MODIFIED,
        "x-ms-blob-type": "BlockBlob",
        "x-ms-lease-status": "unlocked",
        "x-ms-lease-state": "available",
        "x-ms-server-encrypted": "true",
    }


def handle_azure(
    world: BlobWorld, method: str, url: str, body: Any, headers: Any
) -> Response | None:
    parsed = urlparse(url)
    path = unquote(parsed.path)
    query = parse_qs(parsed.query)
    world.calls.append((method, path))
    if path != f"/{BUCKET}" and not path.startswith(f"/{BUCKET}/"):
        return None
    if not world.bucket_exists:
        return _response(404)
    name = path.removeprefix(f"/{BUCKET}").removeprefix("/")
    if (status := world._failure(method, name)) is not None:
        _body_bytes(body)
        return _response(status, _AZURE_ERRORS.get(status, _AZURE_ERRORS[500]))
    if not name:
        if query.get("comp") == ["list"]:
            return _response(200, _azure_listing(world, query.get("prefix", [""])[0]))
        return _response(200, "", {"etag": '"0x8CFB877BB56A6FB"', "last-modified": LAST_MODIFIED})
    send = dict(headers or {})
    if method == "PUT" and query.get("comp") == ["block"]:
        data = _body_bytes(body)
        world._blocks.setdefault(name, {})[query["blockid"][0]] = data
        return _response(201, "", {"content-md5": _md5_b64(data)})
    if method == "PUT" and query.get("comp") == ["blocklist"]:
        ids = [e.text or "" for e in ElementTree.fromstring(_body_bytes(body))]
        blocks = world._blocks.pop(name, {})
        content_type = send.get("x-ms-blob-content-type", "application/octet-stream")
        world._store(name, b"".join(blocks[i] for i in ids), content_type)
        # Put Block List's Content-MD5 would be that of the block list, not of the blob.
        return _response(201, "", {"etag": '"0x8CFB877BB56A6FB"', "last-modified": LAST_MODIFIED})
    if method == "PUT":
        data = _body_bytes(body)
        world._store(name, data, send.get("Content-Type", "application/octet-stream"))
        return _response(201, "", {"etag": '"0x8CFB877BB56A6FB"', "content-md5": _md5_b64(data)})
    if name not in world.objects:
        return _response(404)
    if method == "HEAD":
        return _response(200, "", _azure_blob_headers(world, name))
    if method == "GET":
        return _response(200, world.objects[name].decode(), _azure_blob_headers(world, name))
    if method == "DELETE":
        del world.objects[name]
        world.deletes.append(name)
        return _response(202)
    return None


# -- drivers ------------------------------------------------------------------------------

Handler = Callable[[BlobWorld, str, str, Any, Any], Response | None]


def _http_class(base: type[Any], handler: Handler) -> type[Any]:
    class RecordedStorageHttp(base):  # type: ignore[misc]
        world: BlobWorld

        def _get_request(
            self, method: str, url: str, body: Any = None, headers: Any = None
        ) -> Response:
            answer = handler(self.world, method, url, body, headers)
            if answer is not None:
                return answer
            result: Response = super()._get_request(method, url, body, headers)
            return result

    return RecordedStorageHttp


def gcs_driver(world: BlobWorld) -> StorageDriver:
    """libcloud's ``Provider.GOOGLE_STORAGE`` driver (HMAC keys, XML API) on ``world``."""
    module = libcloud_test_module("storage.test_google_storage")
    http = per_world(_http_class(module.GoogleStorageMockHttp, handle_gcs), world, "GcsHttp")
    connection = type("RecordedGcsConnection", (GoogleStorageConnection,), {"conn_class": http})
    json_connection = type(
        "RecordedGcsJsonConnection", (GoogleStorageJSONConnection,), {"conn_class": http}
    )
    driver_cls = type(
        "RecordedGcsDriver",
        (GoogleStorageDriver,),
        {"connectionCls": connection, "jsonConnectionCls": json_connection},
    )
    key, secret = module.STORAGE_GOOGLE_STORAGE_PARAMS
    driver: StorageDriver = driver_cls(key, secret)
    return driver


def azure_blobs_driver(world: BlobWorld) -> StorageDriver:
    """libcloud's ``Provider.AZURE_BLOBS`` driver (shared key) on ``world``."""
    module = libcloud_test_module("storage.test_azure_blobs")
    http = per_world(_http_class(module.AzureBlobsMockHttp, handle_azure), world, "BlobHttp")
    connection = type("RecordedBlobConnection", (AzureBlobsConnection,), {"conn_class": http})
    driver_cls = type(
        "RecordedBlobDriver", (AzureBlobsStorageDriver,), {"connectionCls": connection}
    )
    account, key = module.STORAGE_AZURE_BLOBS_PARAMS
    driver: StorageDriver = driver_cls(account, key)
    return driver
