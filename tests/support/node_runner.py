"""Make EC2-on-moto instances run: boot each one's user data as a local process.

moto keeps instances as records and runs nothing. :class:`NodeRunner` is the missing
hypervisor for tests: a thread that polls moto (with boto3, the independent view of
:mod:`tests.support.aws`) for instances carrying our tags and

- for each new pending/running one, writes its user data (the boot script skybatch
  made, which starts ``python -m scheduler.worker``) to a directory of its own and
  runs it with ``/bin/sh`` as the leader of a new session, like the local cloud;
- when an instance is terminated (by skybatch, or gone from moto), sends SIGTERM to
  that process group and SIGKILL ``grace_s`` later;
- plays spot preemption: each spot instance is chosen with probability
  ``preempt_share``; after a random delay its group gets SIGTERM (the notice, as the
  local cloud gives it), and ``grace_s`` later the instance is terminated through
  boto3 and the group SIGKILLed. The reconciler takes a vanished spot node for a
  preemption.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.base import MANAGED_BY_TAG, MANAGED_BY_VALUE
from tests.support import aws
from tests.support.moto_server import MotoServer

log = logging.getLogger(__name__)

ATTEMPT_TAG = "skybatch-attempt"
_RUNNING = ("pending", "running")


@dataclass
class Instance:
    instance_id: str
    attempt_id: str
    spot: bool
    node_dir: Path
    proc: subprocess.Popen[bytes] | None = None
    #: monotonic times of what is due: the preemption notice, the reclaim, SIGKILL.
    notice_at: float | None = None
    reclaim_at: float | None = None
    kill_at: float | None = None
    preempted: bool = False
    terminated: bool = False


class NodeRunner:
    def __init__(
        self,
        moto: MotoServer,
        base_dir: Path,
        *,
        preempt_share: float = 0.2,
        preempt_delay_s: tuple[float, float] = (1.0, 6.0),
        grace_s: float = 3.0,
        seed: int = 0,
        poll_s: float = 0.3,
    ) -> None:
        self.moto = moto
        self.base_dir = base_dir
        self.preempt_share = preempt_share
        self.preempt_delay_s = preempt_delay_s
        self.grace_s = grace_s
        self.poll_s = poll_s
        self._rng = random.Random(seed)
        self._ec2: Any = aws.client(moto, "ec2")
        self.instances: dict[str, Instance] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="node-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and kill every worker still running (the test is over)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for inst in self.instances.values():
            self._signal(inst, signal.SIGKILL)
            if inst.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    inst.proc.wait(timeout=5)

    @property
    def preempted(self) -> list[Instance]:
        return [i for i in self.instances.values() if i.preempted]

    def live_workers(self) -> list[str]:
        return [i.instance_id for i in self.instances.values() if self._alive(i)]

    # -- the loop --------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.tick()
            except Exception:  # moto hiccup: try again next poll
                self.errors += 1
                log.exception("node runner tick failed")

    def tick(self) -> None:
        listed = self._describe()
        for iid, (state, described) in listed.items():
            inst = self.instances.get(iid)
            if inst is None and state in _RUNNING:
                inst = self._boot(described)
            if inst is not None and state not in _RUNNING and not inst.terminated:
                self._terminated(inst)
        for iid, inst in self.instances.items():
            if iid not in listed and not inst.terminated:
                self._terminated(inst)
        now = time.monotonic()
        for inst in self.instances.values():
            self._advance(inst, now)
            if inst.proc is not None:
                inst.proc.poll()  # reap

    def _describe(self) -> dict[str, tuple[str, dict[str, Any]]]:
        filters = [{"Name": f"tag:{MANAGED_BY_TAG}", "Values": [MANAGED_BY_VALUE]}]
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for page in self._ec2.get_paginator("describe_instances").paginate(Filters=filters):
            for reservation in page["Reservations"]:
                for i in reservation["Instances"]:
                    out[i["InstanceId"]] = (i["State"]["Name"], i)
        return out

    def _boot(self, described: dict[str, Any]) -> Instance:
        iid = described["InstanceId"]
        tags = {t["Key"]: t["Value"] for t in described.get("Tags", [])}
        node_dir = self.base_dir / iid
        node_dir.mkdir(parents=True, exist_ok=True)
        inst = Instance(
            instance_id=iid,
            attempt_id=tags.get(ATTEMPT_TAG, ""),
            spot=described.get("InstanceLifecycle") == "spot",
            node_dir=node_dir,
        )
        self.instances[iid] = inst
        answer = self._ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
        encoded = answer.get("UserData", {}).get("Value", "")
        (node_dir / "user-data.sh").write_bytes(base64.b64decode(encoded) if encoded else b"")
        with (node_dir / "console.log").open("ab") as console:
            inst.proc = subprocess.Popen(
                ["/bin/sh", "user-data.sh"],
                cwd=node_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "SKYBATCH_NODE_ID": iid, "PYTHONUNBUFFERED": "1"},
            )
        if inst.spot and self._rng.random() < self.preempt_share:
            inst.notice_at = time.monotonic() + self._rng.uniform(*self.preempt_delay_s)
        return inst

    def _terminated(self, inst: Instance) -> None:
        """The instance is gone: SIGTERM now, SIGKILL after the grace period."""
        inst.terminated = True
        inst.notice_at = inst.reclaim_at = None
        self._signal(inst, signal.SIGTERM)
        inst.kill_at = time.monotonic() + self.grace_s

    def _advance(self, inst: Instance, now: float) -> None:
        if inst.notice_at is not None and now >= inst.notice_at:
            inst.notice_at = None
            inst.preempted = True
            self._signal(inst, signal.SIGTERM)  # the preemption notice
            inst.reclaim_at = now + self.grace_s
        if inst.reclaim_at is not None and now >= inst.reclaim_at:
            inst.reclaim_at = None
            self._ec2.terminate_instances(InstanceIds=[inst.instance_id])
            inst.terminated = True
            self._signal(inst, signal.SIGKILL)
        if inst.kill_at is not None and now >= inst.kill_at:
            inst.kill_at = None
            self._signal(inst, signal.SIGKILL)

    def _alive(self, inst: Instance) -> bool:
        if inst.proc is None:
            return False
        try:
            os.killpg(inst.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        # A zombie leader alone does not count; anything else in the group does.
        return inst.proc.poll() is None or _group_has_live_member(inst.proc.pid)

    def _signal(self, inst: Instance, sig: signal.Signals) -> None:
        if inst.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(inst.proc.pid, sig)


def _group_has_live_member(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False
