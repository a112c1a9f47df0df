"""The checkpoint store over libcloud's GOOGLE_STORAGE and AZURE_BLOBS drivers, on
libcloud's recorded storage responses (tests/recorded/storage.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from libcloud.storage.base import StorageDriver

from adapters.base import CheckpointError
from adapters.checkpoints import LibcloudCheckpointStore
from tests.recorded.storage import BUCKET, BlobWorld, azure_blobs_driver, gcs_driver

JOB = "j-1f2e3d4c5b6a7980"
PROVIDERS: dict[str, Callable[[BlobWorld], StorageDriver]] = {
    "google-storage": gcs_driver,
    "azure-blobs": azure_blobs_driver,
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest.fixture
def world() -> BlobWorld:
    return BlobWorld()


@pytest.fixture
def store(provider: str, world: BlobWorld) -> LibcloudCheckpointStore:
    return LibcloudCheckpointStore(PROVIDERS[provider](world), BUCKET)


def workdir(root: Path, step: int) -> Path:
    (root / "state").mkdir(parents=True, exist_ok=True)
    (root / "model.txt").write_text(f"weights after step {step}\n")
    (root / "state" / "progress.json").write_text(json.dumps({"step": step, "note": "ünïcode"}))
    return root


def name(seq: int, rest: str, prefix: str = "") -> str:
    return f"{prefix}{JOB}/{seq:010d}/{rest}"


def test_put_uploads_every_file_then_the_manifest(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    info = store.put(JOB, 1, workdir(tmp_path / "w", 1))
    assert world.uploads == [
        name(1, "files/model.txt"),
        name(1, "files/state/progress.json"),
        name(1, "MANIFEST.json"),
    ]
    assert info.files == ("model.txt", "state/progress.json")
    manifest = json.loads(world.objects[name(1, "MANIFEST.json")])
    assert [f["path"] for f in manifest["files"]] == list(info.files)
    assert world.content_types[name(1, "MANIFEST.json")] == "application/json"


def test_put_then_restore_round_trip(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    store.put(JOB, 1, workdir(tmp_path / "w1", 1))
    store.put(JOB, 2, workdir(tmp_path / "w2", 2))
    latest = store.latest(JOB)
    assert latest is not None and latest.seq == 2
    out = tmp_path / "restored"
    restored = store.restore(JOB, out)
    assert restored is not None and restored.seq == 2
    assert (out / "model.txt").read_text() == "weights after step 2\n"
    assert json.loads((out / "state" / "progress.json").read_text())["step"] == 2


def test_a_checkpoint_whose_digest_mismatches_is_refused(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    store.put(JOB, 1, workdir(tmp_path / "w", 1))
    # Same size, different bytes: only the SHA-256 can tell.
    world.corrupt(name(1, "files/model.txt"), b"weights after step 9\n")
    with pytest.raises(CheckpointError, match="sha256 does not match"):
        store.restore(JOB, tmp_path / "restored")
    assert list((tmp_path / "restored").iterdir()) == []


def test_restore_falls_back_to_the_previous_intact_checkpoint(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    store.put(JOB, 1, workdir(tmp_path / "w1", 1))
    store.put(JOB, 2, workdir(tmp_path / "w2", 2))
    world.corrupt(name(2, "files/model.txt"), b"weights after step 7\n")
    restored = store.restore(JOB, tmp_path / "restored")
    assert restored is not None and restored.seq == 1
    assert (tmp_path / "restored" / "model.txt").read_text() == "weights after step 1\n"


def test_a_put_cut_short_before_its_manifest_is_invisible(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    store.put(JOB, 1, workdir(tmp_path / "w1", 1))
    world.fail_next("PUT", r".*/MANIFEST\.json", 503)
    with pytest.raises(CheckpointError):
        store.put(JOB, 2, workdir(tmp_path / "w2", 2))
    assert name(2, "files/model.txt") in world.objects  # the files made it ...
    assert name(2, "MANIFEST.json") not in world.objects  # ... the manifest did not
    latest = store.latest(JOB)
    assert latest is not None and latest.seq == 1
    restored = store.restore(JOB, tmp_path / "restored")
    assert restored is not None and restored.seq == 1


def test_pruning_keeps_three_and_deletes_manifests_first(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path
) -> None:
    for seq in range(1, 5):
        store.put(JOB, seq, workdir(tmp_path / f"w{seq}", seq))
    assert world.deletes[0] == name(1, "MANIFEST.json")
    assert {n.split("/")[1] for n in world.objects} == {f"{s:010d}" for s in (2, 3, 4)}


def test_a_prefix_is_kept(provider: str, world: BlobWorld, tmp_path: Path) -> None:
    store = LibcloudCheckpointStore(PROVIDERS[provider](world), BUCKET, prefix="team-a/ckpt/")
    store.put(JOB, 1, workdir(tmp_path / "w", 1))
    assert world.uploads[-1] == name(1, "MANIFEST.json", "team-a/ckpt/")
    assert store.restore(JOB, tmp_path / "restored") is not None


def test_objects_outside_the_layout_are_ignored(
    provider: str, world: BlobWorld, tmp_path: Path
) -> None:
    # What libcloud recorded for its own tests, under our job's prefix.
    world.objects[f"{JOB}/1.zip"] = b"zip"
    world.objects[f"{JOB}/notaseq/MANIFEST.json"] = b"{}"
    store = LibcloudCheckpointStore(PROVIDERS[provider](world), BUCKET)
    assert store.latest(JOB) is None
    assert store.restore(JOB, tmp_path / "restored") is None


def test_a_missing_bucket_is_a_checkpoint_error(
    provider: str, world: BlobWorld, tmp_path: Path
) -> None:
    world.bucket_exists = False
    store = LibcloudCheckpointStore(PROVIDERS[provider](world), BUCKET)
    with pytest.raises(CheckpointError):
        store.put(JOB, 1, workdir(tmp_path / "w", 1))


@pytest.mark.parametrize("status", [429, 500, 503])
def test_server_errors_are_checkpoint_errors(
    store: LibcloudCheckpointStore, world: BlobWorld, tmp_path: Path, status: int
) -> None:
    store.put(JOB, 1, workdir(tmp_path / "w", 1))
    world.fail_next("GET", r".*/files/model\.txt", status)
    with pytest.raises(CheckpointError):
        store.restore(JOB, tmp_path / "restored")
