"""The CheckpointStore contract (adapters.base), checked on every store of ``adapters.STORES``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.base import CheckpointError, CheckpointStore
from adapters.checkpoints import LibcloudCheckpointStore
from tests.contract.adapters import StoreUnderTest

JOB = "job-1"


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def put(sut: StoreUnderTest, tmp_path: Path, seq: int, job: str = JOB) -> dict[str, bytes]:
    files = {"state.json": json.dumps({"seq": seq}).encode(), "w/weights.bin": bytes([seq]) * 999}
    sut.store.put(job, seq, write_tree(tmp_path / f"src-{job}-{seq}", files))
    return files


def obj(seq: int, rest: str, job: str = JOB) -> str:
    return f"{job}/{seq:010d}/{rest}"


class RecordingDriver:
    """A storage driver that notes the name of every object uploaded, in order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.uploads: list[str] = []

    def upload_object_via_stream(self, iterator: Any, container: Any, name: str, **kw: Any) -> Any:
        self.uploads.append(name)
        return self.inner.upload_object_via_stream(iterator, container, name, **kw)

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.inner, attr)


def test_is_a_checkpoint_store(store_under_test: StoreUnderTest) -> None:
    assert isinstance(store_under_test.store, CheckpointStore)


def test_roundtrip(store_under_test: StoreUnderTest, tmp_path: Path) -> None:
    files = {
        "state.json": b'{"step": 3}',
        "a/b/weights.bin": bytes(range(256)) * 8192,  # 2 MiB, several chunks
        "a/empty": b"",
        "with space/ünïcode.txt": "héllo".encode(),
    }
    src = write_tree(tmp_path / "src", files)
    info = store_under_test.store.put(JOB, 1, src)
    assert info.seq == 1
    assert sorted(info.files) == sorted(files)
    assert info.size_bytes == sum(len(b) for b in files.values())
    assert store_under_test.store.latest(JOB) == info
    dest = write_tree(tmp_path / "dest", {"stale": b"from before"})
    assert store_under_test.store.restore(JOB, dest) == info
    assert tree(dest) == files


def test_nothing_stored(store_under_test: StoreUnderTest, tmp_path: Path) -> None:
    assert store_under_test.store.latest(JOB) is None
    dest = write_tree(tmp_path / "dest", {"leftover": b"x"})
    assert store_under_test.store.restore(JOB, dest) is None
    assert tree(dest) == {}


def test_manifest_is_written_last(store_under_test: StoreUnderTest, tmp_path: Path) -> None:
    where = store_under_test.location
    recording: Any = RecordingDriver(where.driver)
    store = LibcloudCheckpointStore(recording, where.container, prefix=where.prefix)
    files = {"state.json": b"{}", "w/weights.bin": b"\x00" * 99, "z.log": b"last"}
    store.put(JOB, 1, write_tree(tmp_path / "src", files))
    names = [n.removeprefix(where.prefix) for n in recording.uploads]
    assert names[-1] == obj(1, "MANIFEST.json")
    assert sorted(names[:-1]) == sorted(obj(1, f"files/{rel}") for rel in files)


def test_checkpoint_without_manifest_is_invisible(
    store_under_test: StoreUnderTest, tmp_path: Path
) -> None:
    put(store_under_test, tmp_path, 1)
    put(store_under_test, tmp_path, 2)
    store_under_test.delete(obj(2, "MANIFEST.json"))  # as if the upload of 2 crashed
    latest = store_under_test.store.latest(JOB)
    assert latest is not None and latest.seq == 1
    dest = tmp_path / "dest"
    restored = store_under_test.store.restore(JOB, dest)
    assert restored is not None and restored.seq == 1
    assert json.loads((dest / "state.json").read_bytes()) == {"seq": 1}


@pytest.mark.parametrize("damage", ["flip a bit", "truncate", "delete"])
def test_corrupt_newest_falls_back(
    store_under_test: StoreUnderTest, tmp_path: Path, damage: str
) -> None:
    put(store_under_test, tmp_path, 1)
    newest = put(store_under_test, tmp_path, 2)
    name, data = obj(2, "files/w/weights.bin"), newest["w/weights.bin"]
    if damage == "flip a bit":
        store_under_test.corrupt(name, data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "truncate":
        store_under_test.corrupt(name, data[:-1])
    else:
        store_under_test.delete(name)
    dest = tmp_path / "dest"
    restored = store_under_test.store.restore(JOB, dest)
    assert restored is not None and restored.seq == 1
    assert json.loads((dest / "state.json").read_bytes()) == {"seq": 1}


def test_every_checkpoint_corrupt_is_an_error(
    store_under_test: StoreUnderTest, tmp_path: Path
) -> None:
    put(store_under_test, tmp_path, 1)
    store_under_test.corrupt(obj(1, "files/state.json"), b"garbage")
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        store_under_test.store.restore(JOB, tmp_path / "dest")


def test_keeps_the_three_newest(store_under_test: StoreUnderTest, tmp_path: Path) -> None:
    for seq in range(1, 6):
        put(store_under_test, tmp_path, seq)
    put(store_under_test, tmp_path, 1, job="job-10")  # another job, same prefix
    seqs = {int(n.split("/")[1]) for n in store_under_test.names() if n.startswith(f"{JOB}/")}
    assert seqs == {3, 4, 5}
    latest = store_under_test.store.latest(JOB)
    assert latest is not None and latest.seq == 5
    other = store_under_test.store.latest("job-10")
    assert other is not None and other.seq == 1


def test_seq_must_grow(store_under_test: StoreUnderTest, tmp_path: Path) -> None:
    put(store_under_test, tmp_path, 5)
    with pytest.raises(CheckpointError):
        put(store_under_test, tmp_path, 5)
    with pytest.raises(CheckpointError):
        put(store_under_test, tmp_path, 4)


def test_storage_failures_are_checkpoint_errors(store_under_test: StoreUnderTest) -> None:
    assert store_under_test.error_cases, f"{store_under_test.name} registers no error case"
    for name, provoke in store_under_test.error_cases.items():
        with pytest.raises(CheckpointError) as raised:
            provoke()
        assert str(raised.value), name
