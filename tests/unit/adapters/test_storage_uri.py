"""Checkpoint URIs: which driver, container and prefix each one names (no I/O for s3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.base import CheckpointError
from adapters.checkpoints import DEFAULT_CONTAINER, LibcloudCheckpointStore
from adapters.storage_uri import open_storage

ENV = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret"}


def test_local(tmp_path: Path) -> None:
    where = open_storage(f"local://{tmp_path}/a", local_container="c")
    assert (where.container, where.prefix) == ("c", "")
    assert (tmp_path / "a" / "c").is_dir()


@pytest.mark.parametrize(
    ("uri", "bucket", "prefix"),
    [
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my.bucket-1/team/ckpt", "my.bucket-1", "team/ckpt/"),
        ("s3://my-bucket/team/ckpt/", "my-bucket", "team/ckpt/"),
    ],
)
def test_s3_bucket_and_prefix(uri: str, bucket: str, prefix: str) -> None:
    where = open_storage(uri, local_container=DEFAULT_CONTAINER, environ=ENV)
    assert (where.container, where.prefix) == (bucket, prefix)
    assert where.driver.region_name == "us-east-1"
    assert where.driver.connection.host == "s3.amazonaws.com"
    assert where.driver.connection.secure


def test_s3_region_and_endpoint() -> None:
    uri = "s3://bkt/p?region=eu-west-1&endpoint=http://127.0.0.1:5123"
    where = open_storage(uri, local_container=DEFAULT_CONTAINER, environ=ENV)
    connection = where.driver.connection
    assert where.driver.region_name == "eu-west-1"
    assert (connection.host, connection.port, connection.secure) == ("127.0.0.1", 5123, False)
    from_env = open_storage(
        "s3://bkt", local_container="c", environ={**ENV, "AWS_REGION": "ca-central-1"}
    )
    assert from_env.driver.region_name == "ca-central-1"


@pytest.mark.parametrize(
    ("uri", "env", "message"),
    [
        ("s3://bkt/p", {}, "AWS_ACCESS_KEY_ID"),
        ("s3://Bad_Bucket/p", ENV, "expected s3://bucket"),
        ("s3://b/p", ENV, "expected s3://bucket"),  # bucket names have 3 characters or more
        ("s3://bkt/../p", ENV, "plain path"),
        ("s3://bkt/p?color=red", ENV, "only set region and endpoint"),
        ("s3://bkt/p?region=a&region=b", ENV, "once each"),
        ("s3://bkt/p?endpoint=ftp://h", ENV, "endpoint must be"),
        ("s3://bkt/p?endpoint=http://h:99999", ENV, "port"),
        ("s3://bkt/p?region=mars-1", ENV, "region"),
        ("s3://bkt/p#frag", ENV, "expected s3://bucket"),
    ],
)
def test_s3_refused(uri: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        open_storage(uri, local_container=DEFAULT_CONTAINER, environ=env)


def test_credentials_do_not_show_in_errors() -> None:
    with pytest.raises(CheckpointError) as raised:
        open_storage("s3://bkt/p?region=mars-1", local_container="c", environ=ENV)
    assert "secret" not in str(raised.value)


@pytest.mark.parametrize("prefix", ["p", "/p/", "a//b/", "../x/"])
def test_store_prefix_must_be_a_folder(tmp_path: Path, prefix: str) -> None:
    where = open_storage(f"local://{tmp_path}", local_container="c")
    with pytest.raises(ValueError, match="prefix"):
        LibcloudCheckpointStore(where.driver, "c", prefix=prefix)
