"""The committed gRPC code must be what `make proto` generates from proto/ today.

protoc runs in a child process: grpc_tools and ortools (which the solver imports,
and the shared fixtures load the solver) each bundle protobuf's C++ runtime, and
loading both into one process aborts it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEN_PREFIX = "scheduler/api/gen"


def test_generated_code_matches_proto_sources(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "scheduler.api.protogen", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    fresh = tmp_path / GEN_PREFIX
    committed = REPO / GEN_PREFIX
    fresh_files = {p.relative_to(fresh): p.read_bytes() for p in fresh.rglob("*") if p.is_file()}
    committed_files = {
        p.relative_to(committed): p.read_bytes()
        for p in committed.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert sorted(fresh_files) == sorted(committed_files), "run `make proto`"
    stale = [str(k) for k in fresh_files if fresh_files[k] != committed_files[k]]
    assert not stale, f"stale generated code (run `make proto`): {stale}"
