"""Settings of ``skybatch serve``: where state lives, what to bind, the local cloud.

Defaults are the embedded setup (SQLite and the local cloud under the user's data
dir); every path and URL can be set by flag or environment variable.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import platformdirs

from adapters.faults import Faults
from adapters.local import LocalBilling, PreemptionPolicy
from scheduler.control import ControlSettings
from scheduler.costs import RefitSettings

DEFAULT_BIND = "127.0.0.1:50051"


def default_data_dir() -> Path:
    env = os.environ.get("SKYBATCH_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("skybatch"))


@dataclass(frozen=True)
class ServeConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    db_url: str = ""
    bind: str = DEFAULT_BIND
    checkpoint_uri: str = ""
    worker_python: str = sys.executable
    heartbeat_interval: timedelta = timedelta(seconds=2)
    control: ControlSettings = field(default_factory=ControlSettings)
    local_vcpu_quota: float = 16.0
    local_launch_delay_s: float = 0.5
    preemption: PreemptionPolicy = field(default_factory=PreemptionPolicy)
    #: Clouds to buy from: "local" and/or real ones ("aws", "gce", "azure"), each
    #: configured from the environment (see scheduler/clouds.py and docs/clouds.md).
    clouds: tuple[str, ...] = ("local",)
    #: The address workers on real clouds dial back to (default: the bound address).
    advertise: str = ""
    #: Testing/simulation knob: inject cloud API faults (throttling, no capacity) in
    #: front of every cloud (``--faults``, see :class:`adapters.faults.Faults`).
    faults: Faults | None = None
    #: What the local cloud really charges (hidden from its price list) and bills.
    local_billing: LocalBilling = field(default_factory=LocalBilling)
    #: Fetch and ingest the local cloud's FOCUS bill this often (0: never).
    local_bill_interval_s: float = 300.0
    #: Refit the cost model this often when history moved (and on new billing data).
    refit_interval_s: float = 3600.0
    #: The refit's priors and knobs (default: ``RefitSettings`` with the planner's
    #: runtime pessimism as the runtime prior).
    refit: RefitSettings | None = None

    @property
    def database_url(self) -> str:
        return (
            self.db_url
            or os.environ.get("SKYBATCH_DB_URL", "")
            or f"sqlite:///{self.data_dir / 'skybatch.db'}"
        )

    @property
    def checkpoints(self) -> str:
        return self.checkpoint_uri or f"local://{(self.data_dir / 'objects').resolve()}"

    @property
    def local_cloud_dir(self) -> Path:
        return self.data_dir / "local-cloud"

    @property
    def billing_dir(self) -> Path:
        """Uploaded and fetched bills wait here while they are ingested."""
        return self.data_dir / "billing"
