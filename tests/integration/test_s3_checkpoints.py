"""Checkpoints in S3 (moto over HTTP) through ``checkpoint_store_from_uri``."""

from __future__ import annotations

from pathlib import Path

from adapters.checkpoints import checkpoint_store_from_uri
from tests.support import aws
from tests.support.moto_server import MotoServer


def test_objects_live_under_the_prefix(moto_server: MotoServer, tmp_path: Path) -> None:
    moto_server.reset()
    s3 = aws.client(moto_server, "s3")
    s3.create_bucket(Bucket="shared")
    s3.put_object(Bucket="shared", Key="someone-else/job-1/0000000009/MANIFEST.json", Body=b"{}")
    env = aws.aws_environ(moto_server)
    store = checkpoint_store_from_uri(aws.s3_uri(moto_server, "shared", "team-a/ckpt"), environ=env)
    src = tmp_path / "src"
    src.mkdir()
    (src / "state.json").write_bytes(b'{"step": 1}')

    info = store.put("job-1", 1, src)

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="shared")["Contents"])
    assert keys == [
        "someone-else/job-1/0000000009/MANIFEST.json",
        "team-a/ckpt/job-1/0000000001/MANIFEST.json",
        "team-a/ckpt/job-1/0000000001/files/state.json",
    ]
    # Another prefix in the same bucket is another store.
    assert store.latest("job-1") == info
    bare = checkpoint_store_from_uri(aws.s3_uri(moto_server, "shared"), environ=env)
    assert bare.latest("job-1") is None
    restored = checkpoint_store_from_uri(
        aws.s3_uri(moto_server, "shared", "team-a/ckpt/"), environ=env
    ).restore("job-1", tmp_path / "dest")
    assert restored == info
    assert (tmp_path / "dest" / "state.json").read_bytes() == b'{"step": 1}'
