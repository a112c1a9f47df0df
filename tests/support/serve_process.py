"""``skybatch serve`` as a real subprocess, for tests that need its exit code, its
signals or its log: started on a free port, its first stdout line read for the
address, its stderr kept in a file."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ServeProcess:
    proc: subprocess.Popen[str]
    address: str
    #: Where its stderr (the log) goes.
    err_path: Path

    def log(self) -> str:
        return self.err_path.read_text(errors="replace")


def start_serve(data_dir: Path, *flags: str, err_path: Path | None = None) -> ServeProcess:
    """Start ``skybatch serve --bind 127.0.0.1:0 --data-dir DATA_DIR FLAGS...`` and wait
    for its ``serving on HOST:PORT`` line (the log is in the assertion if it fails)."""
    err_path = err_path or data_dir / "serve.err"
    argv = [sys.executable, "-m", "scheduler", "serve", "--bind", "127.0.0.1:0"]
    argv += ["--data-dir", str(data_dir), *flags]
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving on "):
        proc.kill()
        proc.wait()
        proc.stdout.close()
        raise AssertionError(f"serve did not start: {line!r}\n{err_path.read_text()}")
    return ServeProcess(proc, line.split()[-1], err_path)
