"""``skybatch serve``: run the service in the foreground until SIGTERM / Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import FrameType

from adapters.clouds.config import env_list
from adapters.faults import Faults, FaultsSyntaxError
from adapters.local import LocalBilling, PreemptionPolicy, PriceRule, ScheduledPreemption
from scheduler.api.standby import StandbyServer
from scheduler.cli import serve_security
from scheduler.clouds import check_names
from scheduler.config import DEFAULT_BIND, ServeConfig, default_data_dir
from scheduler.control import ControlSettings
from scheduler.errors import InvalidArgument
from scheduler.logging_setup import FORMATS, configure_logging
from scheduler.service import Service
from scheduler.store import reachable

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="run the gRPC server, the control loop and the local cloud")
    p.add_argument("--bind", default=DEFAULT_BIND, help="host:port (port 0 = any free port)")
    p.add_argument("--data-dir", type=Path, default=None, help="state dir (SKYBATCH_DATA_DIR)")
    p.add_argument("--db-url", default="", help="SQLAlchemy URL (SKYBATCH_DB_URL); default SQLite")
    p.add_argument("--tick", type=float, default=1.0, help="control loop period, seconds")
    p.add_argument(
        "--preempt",
        action="append",
        default=[],
        metavar="N:SECONDS",
        help="preempt the N-th spot node the local cloud launches SECONDS after it starts",
    )
    p.add_argument("--preempt-rate", type=float, default=0.0, help="random spot preemptions/hour")
    p.add_argument("--time-scale", type=float, default=1.0, help="sim seconds per real second")
    p.add_argument("--seed", type=int, default=0, help="seed for random preemptions")
    p.add_argument("--grace", type=float, default=5.0, help="preemption notice, seconds")
    p.add_argument("--restart-overhead", type=int, default=60, help="seconds, for planning")
    p.add_argument("--heartbeat-timeout", type=float, default=30.0)
    p.add_argument("--vcpu-quota", type=float, default=16.0, help="local cloud vCPUs per region")
    p.add_argument(
        "--cloud",
        action="append",
        default=None,
        metavar="NAME",
        help="a cloud to buy from: local, aws, gce, azure (repeat; SKYBATCH_CLOUDS; "
        "default local); real ones are configured from the environment, see docs/clouds.md",
    )
    p.add_argument(
        "--checkpoints",
        default="",
        metavar="URI",
        help="where workers keep checkpoints: local://DIR or s3://BUCKET/PREFIX "
        "(SKYBATCH_CHECKPOINTS; default local:// under the data dir)",
    )
    p.add_argument(
        "--advertise",
        default="",
        help="host:port workers reach this server at (default: --bind); with replicas, "
        "every replica's host:port, comma-separated (workers fail over along the list)",
    )
    p.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help="testing/simulation: inject cloud API faults, e.g. "
        "'throttle=0.1,no-capacity=REGION[+REGION],seed=N' (SKYBATCH_FAULTS)",
    )
    p.add_argument(
        "--local-price",
        action="append",
        default=[],
        metavar="REGION/TYPE/MARKET=MULT",
        help="testing/what-if: the local cloud bills matching nodes at MULT x list price "
        "(globs; e.g. 'europe-west4/n2-*/on-demand=0.7', a discount its price list hides)",
    )
    p.add_argument(
        "--local-hazard",
        action="append",
        default=[],
        metavar="REGION=RATE",
        help="testing/what-if: true spot preemptions/hour in REGION (the offerings keep "
        "advertising --preempt-rate)",
    )
    p.add_argument(
        "--bill-interval",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="fetch and ingest the local cloud's FOCUS bill this often (0 = never)",
    )
    p.add_argument(
        "--refit-interval",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="refit the cost model this often when history moved (0 = only on new billing data)",
    )
    p.add_argument(
        "--metrics-bind",
        default="",
        metavar="HOST:PORT",
        help="serve Prometheus metrics (/metrics) and /healthz over HTTP here "
        "(port 0 = any free port; default: off)",
    )
    p.add_argument(
        "--log-format", choices=FORMATS, default="text", help="text, or json (one object a line)"
    )
    p.add_argument(
        "--shutdown-grace",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="on SIGTERM: drain RPCs and finish the tick within this long, then exit",
    )
    serve_security.add_arguments(p)
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=run)


def _schedule(items: list[str]) -> tuple[ScheduledPreemption, ...]:
    out = []
    for item in items:
        n, sep, after = item.partition(":")
        try:
            out.append(ScheduledPreemption(nth_spot_launch=int(n), after_s=float(after)))
        except ValueError:
            raise InvalidArgument("--preempt", f"{item!r} is not N:SECONDS") from None
        if not sep:
            raise InvalidArgument("--preempt", f"{item!r} is not N:SECONDS")
    return tuple(out)


def _price_rules(items: list[str]) -> tuple[PriceRule, ...]:
    out = []
    for item in items:
        pattern, sep, mult = item.rpartition("=")
        parts = pattern.split("/")
        if not sep or len(parts) != 3 or not all(parts):
            raise InvalidArgument("--local-price", f"{item!r} is not REGION/TYPE/MARKET=MULT")
        region, itype, market = parts
        try:
            out.append(PriceRule(region, itype, market, multiplier=Decimal(mult)))
        except (InvalidOperation, ValueError) as exc:
            raise InvalidArgument("--local-price", f"{item!r}: {exc}") from None
    return tuple(out)


def _hazards(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        region, sep, rate = item.partition("=")
        try:
            out[region] = float(rate)
        except ValueError:
            raise InvalidArgument("--local-hazard", f"{item!r} is not REGION=RATE") from None
        if not sep or not region:
            raise InvalidArgument("--local-hazard", f"{item!r} is not REGION=RATE")
    return out


def _advertise(text: str) -> str:
    items = [item.strip() for item in text.split(",")] if text.strip() else []
    for item in items:
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise InvalidArgument("--advertise", f"{item!r} is not host:port")
    return ",".join(items)


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    for flag, value in (
        ("--bill-interval", args.bill_interval),
        ("--refit-interval", args.refit_interval),
        ("--shutdown-grace", args.shutdown_grace),
    ):
        if not value >= 0:
            raise InvalidArgument(flag, "must be >= 0 seconds")
    host, _, port = args.metrics_bind.rpartition(":")
    if args.metrics_bind and not (host and port.isdigit() and int(port) < 65536):
        raise InvalidArgument("--metrics-bind", f"{args.metrics_bind!r} is not HOST:PORT")
    try:
        policy = PreemptionPolicy(
            grace_s=args.grace,
            schedule=_schedule(args.preempt),
            hazard_per_hour=args.preempt_rate,
            hazard_by_region=_hazards(args.local_hazard),
            time_scale=args.time_scale,
            seed=args.seed,
        )
    except ValueError as exc:
        raise InvalidArgument("--preempt", str(exc)) from None
    faults_text = args.faults if args.faults is not None else os.environ.get("SKYBATCH_FAULTS", "")
    try:
        faults = Faults.parse(faults_text) if faults_text.strip() else None
    except FaultsSyntaxError as exc:
        raise InvalidArgument("--faults", str(exc)) from None
    return ServeConfig(
        data_dir=args.data_dir or default_data_dir(),
        db_url=args.db_url,
        bind=args.bind,
        control=ControlSettings(
            tick_interval_s=args.tick,
            restart_overhead_s=args.restart_overhead,
            heartbeat_timeout_s=args.heartbeat_timeout,
        ),
        local_vcpu_quota=args.vcpu_quota,
        preemption=policy,
        clouds=check_names(args.cloud or env_list(os.environ, "SKYBATCH_CLOUDS") or ("local",)),
        advertise=_advertise(args.advertise),
        checkpoint_uri=args.checkpoints or os.environ.get("SKYBATCH_CHECKPOINTS", ""),
        faults=faults,
        local_billing=LocalBilling(price_rules=_price_rules(args.local_price)),
        local_bill_interval_s=args.bill_interval,
        refit_interval_s=args.refit_interval,
        **serve_security.config_fields(args),
        metrics_bind=args.metrics_bind,
    )


def _wait_for_store(config: ServeConfig, stop: threading.Event) -> ServeConfig | None:
    """Until the store answers, hold the gRPC port with a health-only server saying
    NOT_SERVING. The config to start with (bound to the port held), or None: stopped."""
    if reachable(config.database_url):
        return config
    standby = StandbyServer(
        config.bind, config.tls.credentials() if config.tls is not None else None
    )
    standby.start()
    print(f"serving on {standby.address}", flush=True)
    log.warning("store unreachable: health is NOT_SERVING until it answers")
    try:
        while not reachable(config.database_url):
            if stop.wait(config.store_probe_interval_s):
                return None
    finally:
        standby.stop()
    log.info("store reachable: starting")
    return replace(config, bind=standby.address)


def run(args: argparse.Namespace) -> int:
    configure_logging(args.log_format, verbose=args.verbose, stream=sys.stderr)
    config = config_from_args(args)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    waited = _wait_for_store(config, stop)
    if waited is None:
        return 0
    service = Service(waited)
    service.start()
    if waited is config:
        # One machine-readable line: the demo and scripts read the bound address from it
        # (printed by the standby server already when the store was down at first).
        print(f"serving on {service.address}", flush=True)
    if service.metrics_endpoint is not None:
        print(f"metrics on {service.metrics_endpoint.address}", flush=True)
    stop.wait()
    log.info("shutting down (grace %.0fs)", args.shutdown_grace)
    started = time.monotonic()
    service.stop(grace_s=args.shutdown_grace, timeout_s=args.shutdown_grace)
    log.info("shut down in %.1fs", time.monotonic() - started)
    return 0
