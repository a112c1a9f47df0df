"""``skybatch serve`` as the benchmark's subprocess: started on a free port with SQLite in
a data dir of its own and the local cloud, its memory sampled from ``/proc``, its log
kept in the data dir (the control loop's tick lines are read back from it)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

#: Nothing launches: the local cloud grants no vCPU, so every job stays PENDING and the
#: planner finds every pool full (it still builds and solves the whole problem).
QUIET_FLAGS = ("--vcpu-quota", "0", "--bill-interval", "0", "--refit-interval", "0")
#: A control loop that ticks once at start (nothing pending yet) and then sleeps.
IDLE_TICK_S = 86_400.0
TICK_LINE = re.compile(
    r"plan tick: (?P<pending>\d+) pending, (?P<planned>\d+) planned, "
    r"build (?P<build>[\d.]+) s, solve (?P<solve>[\d.]+) s, persist (?P<persist>[\d.]+) s"
)


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of ``pid`` in KiB: resident now, and its peak so far."""
    now = peak = 0
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1])
    return now, peak


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (its own threads, not children)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Replicas:
    """Several ``Serve`` processes on one store, seen as one: ``address`` is a gRPC
    target listing them all (clients pick round-robin), CPU and memory are summed."""

    def __init__(self, servers: Sequence[Serve]) -> None:
        self.servers = list(servers)
        addresses = [s.address for s in self.servers]
        self.address = addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)
        self.pids = [s.pid for s in self.servers]

    def cpu_s(self) -> float:
        return sum(s.cpu_s() for s in self.servers)

    def memory(self) -> dict[str, float]:
        each = [s.memory() for s in self.servers]
        return {k: sum(m[k] for m in each) for k in each[0]}

    def stop(self) -> None:
        for s in self.servers:
            s.stop()


class Serve:
    """One ``skybatch serve`` process; ``stop()`` sends SIGTERM (SIGKILL after 30 s)."""

    def __init__(
        self, data_dir: Path, *, tick_s: float, extra: Sequence[str] = (), bind: str = ""
    ) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir / "serve.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable,
            "-m",
            "scheduler",
            "serve",
            "--bind",
            bind or "127.0.0.1:0",
            "--data-dir",
            str(data_dir),
            "--tick",
            str(tick_s),
            *QUIET_FLAGS,
            *extra,
        ]
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        self.proc.stdout.close()
        if not line.startswith("serving on "):
            self.proc.wait(timeout=30)
            raise RuntimeError(f"serve did not start:\n{self.log_path.read_text()[-3000:]}")
        self.address = line.split()[-1]
        self.pid = self.proc.pid
        self.rss_samples: list[int] = []
        self.peak_kib = 0
        self.end_kib = 0
        self._stop_sampling = threading.Event()
        self._sampler = threading.Thread(target=self._sample, name="rss", daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop_sampling.wait(0.2):
            try:
                now, peak = rss_kib(self.pid)
            except OSError:
                return
            self.rss_samples.append(now)
            self.peak_kib = max(self.peak_kib, peak)

    def memory(self) -> dict[str, float]:
        """Resident memory in MiB: now, and the process's peak (``VmHWM``)."""
        now, peak = rss_kib(self.pid)
        self.peak_kib = max(self.peak_kib, peak)
        return {"rss_mib": now / 1024, "peak_rss_mib": self.peak_kib / 1024}

    def cpu_s(self) -> float:
        return cpu_seconds(self.pid)

    def ticks(self) -> list[dict[str, float]]:
        """The plan ticks the control loop logged so far."""
        text = self.log_path.read_text(errors="replace")
        return [{k: float(v) for k, v in m.groupdict().items()} for m in TICK_LINE.finditer(text)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stop_sampling.set()
        self._sampler.join(timeout=5)

    def wait_for_ticks(self, n: int, timeout_s: float) -> list[dict[str, float]]:
        deadline = time.monotonic() + timeout_s
        while len(ticks := self.ticks()) < n:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(
                    f"{len(ticks)} of {n} plan ticks after {timeout_s:g} s:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.1)
        return ticks
