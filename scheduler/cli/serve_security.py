"""``skybatch serve``'s security and limit flags: auth mode, TLS, rate and size limits.

Without ``--auth``: ``none`` on a loopback address (the demo, local development),
and a refusal to start on any other address unless ``--auth token`` or
``--insecure`` is given: a server reachable from the network trusts no header.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from scheduler.api.auth import AuthMode
from scheduler.api.server import DEFAULT_MAX_REQUEST_BYTES
from scheduler.api.tls import ServerTLS
from scheduler.config import is_loopback
from scheduler.errors import InvalidArgument


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security and limits (docs/operations.md)")
    g.add_argument(
        "--auth",
        choices=[m.value for m in AuthMode],
        default=None,
        help="token: every job/admin/report call needs 'authorization: Bearer sbt_...'; "
        "none: the tenant comes from x-skybatch-tenant (default on loopback only)",
    )
    g.add_argument(
        "--insecure",
        action="store_true",
        help="allow --auth none on a non-loopback address (anyone reaching it is anyone)",
    )
    g.add_argument("--tls-cert", type=Path, default=None, help="server certificate chain (PEM)")
    g.add_argument("--tls-key", type=Path, default=None, help="its private key (PEM)")
    g.add_argument(
        "--tls-client-ca",
        type=Path,
        default=None,
        help="require client certificates signed by this CA (mutual TLS)",
    )
    g.add_argument(
        "--tls-ca",
        type=Path,
        default=None,
        help="the CA that signed --tls-cert, handed to worker nodes (default: --tls-cert)",
    )
    g.add_argument(
        "--tls-worker-cert",
        type=Path,
        default=None,
        help="client certificate (PEM, from the --tls-client-ca CA) handed to worker nodes "
        "in their boot script; required with --tls-client-ca",
    )
    g.add_argument("--tls-worker-key", type=Path, default=None, help="its private key (PEM)")
    g.add_argument(
        "--token-cache",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="trust a verified token this long (a revocation takes effect within it)",
    )
    g.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        metavar="RPS",
        help="calls per second per tenant (0 = unlimited); more is RESOURCE_EXHAUSTED",
    )
    g.add_argument(
        "--rate-burst", type=float, default=0.0, metavar="N", help="burst (default: RPS)"
    )
    g.add_argument(
        "--max-message-bytes",
        type=int,
        default=DEFAULT_MAX_REQUEST_BYTES,
        metavar="BYTES",
        help="largest request accepted (default 4 MiB); more is RESOURCE_EXHAUSTED",
    )


def config_fields(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ServeConfig`` fields these flags set (bad input: ``InvalidArgument``)."""
    auth = AuthMode(args.auth) if args.auth else None
    if auth is None:
        if not is_loopback(args.bind) and not args.insecure:
            raise InvalidArgument(
                "--auth",
                f"{args.bind} is not a loopback address: use --auth token "
                "(or --auth none --insecure to trust any caller)",
            )
        auth = AuthMode.NONE
    elif auth is AuthMode.NONE and not is_loopback(args.bind) and not args.insecure:
        raise InvalidArgument(
            "--auth", f"none on {args.bind} (not loopback) trusts any caller: add --insecure"
        )
    if (args.tls_cert is None) != (args.tls_key is None):
        raise InvalidArgument("--tls-cert", "--tls-cert and --tls-key go together")
    tls_only = {
        "--tls-client-ca": args.tls_client_ca,
        "--tls-ca": args.tls_ca,
        "--tls-worker-cert": args.tls_worker_cert,
        "--tls-worker-key": args.tls_worker_key,
    }
    if args.tls_cert is None:
        for flag, value in tls_only.items():
            if value is not None:
                raise InvalidArgument(flag, "needs --tls-cert and --tls-key")
    if (args.tls_worker_cert is None) != (args.tls_worker_key is None):
        raise InvalidArgument(
            "--tls-worker-cert", "--tls-worker-cert and --tls-worker-key go together"
        )
    if args.tls_client_ca is not None and args.tls_worker_cert is None:
        # Every launched worker would be refused at the TLS handshake.
        raise InvalidArgument(
            "--tls-worker-cert",
            "required with --tls-client-ca: under mutual TLS worker nodes need a client "
            "certificate (and --tls-worker-key) signed by that CA, or they cannot connect",
        )
    if args.tls_worker_cert is not None and args.tls_client_ca is None:
        raise InvalidArgument("--tls-worker-cert", "only for mutual TLS: needs --tls-client-ca")
    tls = (
        ServerTLS.from_files(
            args.tls_cert,
            args.tls_key,
            args.tls_client_ca,
            args.tls_ca,
            args.tls_worker_cert,
            args.tls_worker_key,
        )
        if args.tls_cert is not None
        else None
    )
    if not args.token_cache >= 0:
        raise InvalidArgument("--token-cache", "must be >= 0 seconds")
    if not args.rate_limit >= 0:
        raise InvalidArgument("--rate-limit", "must be >= 0 calls per second")
    if not args.rate_burst >= 0:
        raise InvalidArgument("--rate-burst", "must be >= 0")
    if args.max_message_bytes < 1024:
        raise InvalidArgument("--max-message-bytes", "must be at least 1024")
    return {
        "auth": auth,
        "tls": tls,
        "token_cache_s": args.token_cache,
        "rate_limit": args.rate_limit,
        "rate_burst": args.rate_burst,
        "max_message_bytes": args.max_message_bytes,
    }
