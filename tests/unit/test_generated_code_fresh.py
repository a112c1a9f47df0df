"""The committed gRPC code must be what `make proto` generates from proto/ today."""

from __future__ import annotations

from pathlib import Path

from scheduler.api import protogen

REPO = Path(protogen.__file__).resolve().parents[2]


def test_generated_code_matches_proto_sources(tmp_path: Path) -> None:
    fresh = protogen.generate(tmp_path)
    committed = REPO / protogen.GEN_PREFIX
    fresh_files = {p.relative_to(fresh): p.read_bytes() for p in fresh.rglob("*") if p.is_file()}
    committed_files = {
        p.relative_to(committed): p.read_bytes()
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sorted(fresh_files) == sorted(committed_files), "run `make proto`"
    stale = [str(k) for k in fresh_files if fresh_files[k] != committed_files[k]]
    assert not stale, f"stale generated code (run `make proto`): {stale}"
