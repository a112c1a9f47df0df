"""Where checkpoints live, from a URI: a libcloud storage driver, a container, a prefix.

Supported URIs:

- ``local:///abs/dir``: libcloud's ``LocalStorageDriver`` rooted at ``dir`` (created if
  missing), in the container the caller names (created if missing), no prefix.
- ``s3://bucket[/prefix][?region=R&endpoint=URL]``: libcloud's S3 driver (SigV4) on an
  existing ``bucket``; object names start with ``prefix/``. The region is ``region``,
  else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``us-east-1``; ``endpoint``
  (``http://host:port``) replaces the AWS one, e.g. for a local moto server.
  Credentials come from the environment (:class:`~adapters.clouds.aws_auth.AwsCredentials`).
  Nothing is sent to S3 here: a missing bucket shows on first use.

Every problem is a :class:`~adapters.base.CheckpointError`.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.storage.base import StorageDriver
from libcloud.storage.drivers.local import LocalStorageDriver
from libcloud.storage.drivers.s3 import S3StorageDriver
from libcloud.storage.types import ContainerAlreadyExistsError, ContainerDoesNotExistError

from adapters.base import CheckpointError
from adapters.clouds.aws_auth import AwsCredentials, MissingCredentialsError

# The drivers' constructors are unannotated; their interface is StorageDriver's.
_LOCAL_DRIVER: Callable[..., StorageDriver] = LocalStorageDriver
_S3_DRIVER: Callable[..., StorageDriver] = S3StorageDriver

_DEFAULT_S3_REGION = "us-east-1"
# S3 bucket naming rules (general purpose buckets): 3-63 of a-z 0-9 . -
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_QUERY_KEYS = frozenset({"region", "endpoint"})


@dataclass(frozen=True)
class StorageLocation:
    """A driver, the container to use in it, and the prefix of every object name
    (empty, or ending in ``/``)."""

    driver: StorageDriver
    container: str
    prefix: str = ""


def open_storage(
    uri: str, *, local_container: str, environ: Mapping[str, str] | None = None
) -> StorageLocation:
    """The storage ``uri`` names; ``local_container`` is the container of local URIs."""
    parsed = urlparse(uri)
    if parsed.scheme == "local":
        return _open_local(uri, parsed.netloc, parsed.path, local_container)
    if parsed.scheme == "s3":
        env = os.environ if environ is None else environ
        return _open_s3(uri, parsed.netloc, parsed.path, parsed.query, parsed.fragment, env)
    raise CheckpointError(
        f"unsupported checkpoint uri {uri!r}: expected local:///abs/dir or s3://bucket/prefix"
    )


def _open_local(uri: str, netloc: str, path: str, container: str) -> StorageLocation:
    if netloc or not path.startswith("/"):
        raise CheckpointError(f"checkpoint uri {uri!r} must be local:// plus an absolute path")
    base = Path(path)
    try:
        base.mkdir(parents=True, exist_ok=True)
        driver = _LOCAL_DRIVER(key=str(base))
        try:
            driver.get_container(container)
        except ContainerDoesNotExistError:
            with contextlib.suppress(ContainerAlreadyExistsError):  # lost a race: fine
                driver.create_container(container)
    except (LibcloudError, BaseHTTPError, OSError) as exc:
        raise CheckpointError(f"cannot open checkpoint store {uri!r}: {exc}") from exc
    return StorageLocation(driver, container)


def _open_s3(
    uri: str, bucket: str, path: str, query: str, fragment: str, env: Mapping[str, str]
) -> StorageLocation:
    if not _BUCKET.fullmatch(bucket) or ".." in bucket or fragment:
        raise CheckpointError(f"checkpoint uri {uri!r}: expected s3://bucket/prefix")
    prefix = _prefix(uri, path)
    try:
        params = parse_qs(query, strict_parsing=bool(query), max_num_fields=len(_S3_QUERY_KEYS))
    except ValueError as exc:
        raise CheckpointError(f"checkpoint uri {uri!r}: bad query: {exc}") from exc
    unknown = set(params) - _S3_QUERY_KEYS
    if unknown or any(len(values) != 1 for values in params.values()):
        raise CheckpointError(
            f"checkpoint uri {uri!r}: query may only set region and endpoint, once each"
        )
    region = (
        params.get("region", [""])[0]
        or env.get("AWS_REGION")
        or env.get("AWS_DEFAULT_REGION")
        or _DEFAULT_S3_REGION
    )
    endpoint: dict[str, object] = {}
    if "endpoint" in params:
        endpoint = _endpoint(uri, params["endpoint"][0])
    try:
        credentials = AwsCredentials.from_env(env)
        driver = _S3_DRIVER(
            credentials.access_key,
            credentials.secret_key,
            region=region,
            token=credentials.session_token or None,
            **endpoint,
        )
    except MissingCredentialsError as exc:
        raise CheckpointError(f"cannot open checkpoint store {uri!r}: {exc}") from exc
    except ValueError as exc:  # libcloud: "Invalid or unsupported region"
        raise CheckpointError(f"cannot open checkpoint store {uri!r}: {exc}") from exc
    return StorageLocation(driver, bucket, prefix)


def _prefix(uri: str, path: str) -> str:
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts) or "//" in path.strip("/"):
        raise CheckpointError(f"checkpoint uri {uri!r}: the prefix must be a plain path")
    return "".join(f"{p}/" for p in parts)


def _endpoint(uri: str, value: str) -> dict[str, object]:
    """``host``/``port``/``secure`` for the driver from ``http[s]://host[:port]``."""
    parsed = urlparse(value)
    try:
        port = parsed.port
    except ValueError as exc:
        raise CheckpointError(f"checkpoint uri {uri!r}: bad endpoint port") from exc
    if parsed.scheme not in ("http", "https") or not parsed.hostname or parsed.path.strip("/"):
        raise CheckpointError(
            f"checkpoint uri {uri!r}: endpoint must be http://host[:port] or https://host[:port]"
        )
    secure = parsed.scheme == "https"
    return {"host": parsed.hostname, "port": port or (443 if secure else 80), "secure": secure}
