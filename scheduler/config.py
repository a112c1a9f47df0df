"""Settings of ``skybatch serve``: where state lives, what to bind, the local cloud.

Defaults are the embedded setup (SQLite and the local cloud under the user's data
dir); every path and URL can be set by flag or environment variable.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import platformdirs

from adapters.faults import Faults
from adapters.local import LocalBilling, PreemptionPolicy
from scheduler.api.auth import AuthMode
from scheduler.api.server import DEFAULT_MAX_REQUEST_BYTES
from scheduler.api.tls import ServerTLS
from scheduler.control import ControlSettings
from scheduler.costs import RefitSettings

DEFAULT_BIND = "127.0.0.1:50051"


def is_loopback(bind: str) -> bool:
    """Whether ``host:port`` listens on this machine only (``localhost``, 127/8, ::1)."""
    host = bind.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    #: The address workers dial back to (default: the bound address); with replicas, a
    #: comma-separated list of every replica's host:port (workers fail over along it).
    advertise: str = ""
    #: How often a standby replica tries to take the leader lock and the leader checks
    #: that it still holds it (scheduler/control/leader.py).
    leader_interval_s: float = 1.0
    #: ``none`` (the tenant from ``x-skybatch-tenant``) or ``token`` (bearer tokens).
    auth: AuthMode = AuthMode.NONE
    #: Serve TLS with this certificate (and require client certificates when it has a
    #: client CA); None serves plaintext.
    tls: ServerTLS | None = None
    #: How long a verified token is trusted without asking the store (a revocation
    #: takes effect within this time).
    token_cache_s: float = 5.0
    #: Calls per second per tenant (token bucket; 0 = unlimited) and the burst allowed.
    rate_limit: float = 0.0
    rate_burst: float = 0.0
    #: Largest request message accepted, bytes (bigger is RESOURCE_EXHAUSTED).
    max_message_bytes: int = DEFAULT_MAX_REQUEST_BYTES
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
    #: Serve Prometheus metrics and ``/healthz`` over HTTP here (``host:port``, port 0 =
    #: any free port); empty: no metrics endpoint.
    metrics_bind: str = ""
    #: Probe the store this often; health is NOT_SERVING while it does not answer.
    store_probe_interval_s: float = 2.0

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
