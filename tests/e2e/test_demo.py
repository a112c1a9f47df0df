"""`make demo` runs `skybatch demo`: it must keep working (and exit 0) from a clean tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "scheduler", "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "demo ok" in out.stdout
    assert "train-spot: preempted 1x, resumed from its checkpoint" in out.stdout
    assert "leftover nodes: 0" in out.stdout
