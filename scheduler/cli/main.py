"""The ``skybatch`` command line. Exit codes: 0 ok, 1 failure, 2 bad input."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator

import grpc

from scheduler.api.channel import TOKEN_ENV
from scheduler.api.tls import CA_ENV, CERT_ENV, KEY_ENV
from scheduler.cli import admin, commands, demo, quota, report, serve, simulate, solve, tenant
from scheduler.cli.render import make_console
from scheduler.errors import InvalidArgument, SkybatchError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
err = make_console(stderr=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="skybatch", description="Cost-aware multi-cloud batch scheduler."
    )
    sub = p.add_subparsers(dest="command", required=True)
    serve.add_parser(sub)
    commands.add_parsers(sub)
    admin.add_parsers(sub)
    report.add_parsers(sub)
    demo.add_parser(sub)
    solve.add_parser(sub)
    simulate.add_parser(sub)
    tenant.add_parsers(sub)
    quota.add_parsers(sub)
    _add_credential_flags(p, default="")
    for client_parser in _client_parsers(p):
        # Also after the subcommand; SUPPRESS keeps a value given before it.
        _add_credential_flags(client_parser, default=argparse.SUPPRESS)
    return p


#: Client credentials: flag, its environment variable, help. The flags set the variable
#: for the command's duration; the client library reads the environment.
CREDENTIAL_FLAGS = (
    ("--token", TOKEN_ENV, "bearer token sbt_..."),
    ("--tls-ca", CA_ENV, "CA certificate to verify the server with (PEM): use TLS"),
    ("--tls-cert", CERT_ENV, "client certificate (PEM), for mutual TLS"),
    ("--tls-key", KEY_ENV, "its private key (PEM)"),
)


def _dest(flag: str) -> str:
    # Distinct from `serve --tls-cert` (the server's own certificate).
    return "client_" + flag.removeprefix("--").replace("-", "_")


def _add_credential_flags(p: argparse.ArgumentParser, *, default: str) -> None:
    for flag, env, help_text in CREDENTIAL_FLAGS:
        metavar = "TOKEN" if flag == "--token" else "PEM"
        p.add_argument(
            flag, dest=_dest(flag), default=default, metavar=metavar, help=f"{help_text} ({env})"
        )


def _client_parsers(p: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every (sub)command parser that talks to a server (it takes ``--server``)."""
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _client_parsers(child)
    if "--server" in p._option_string_actions:
        yield p


@contextlib.contextmanager
def _credentials(args: argparse.Namespace) -> Iterator[None]:
    """The credential flags given, as the environment the client library reads."""
    given = {env: getattr(args, _dest(flag), "") for flag, env, _ in CREDENTIAL_FLAGS}
    given = {k: v for k, v in given.items() if v}
    saved = {k: os.environ.get(k) for k in given}
    os.environ.update(given)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with _credentials(args):
            code: int = args.func(args)
        return code
    except InvalidArgument as exc:
        err.print(f"[bold red]error:[/] {exc.field}: {exc.problem}")
        return EXIT_USAGE
    except grpc.RpcError as exc:
        return _rpc_error(exc, args)
    except SkybatchError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130


def _rpc_error(exc: grpc.RpcError, args: argparse.Namespace) -> int:
    code = exc.code() if isinstance(exc, grpc.Call) else None
    details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
    if code is grpc.StatusCode.UNAVAILABLE:
        server = getattr(args, "server", "") or "the server"
        err.print(f"[bold red]error:[/] cannot reach {server} (is `skybatch serve` running?)")
        if details and ("ssl" in details.lower() or "handshake" in details.lower()):
            err.print(f"  TLS: {details} (check --tls-ca / --tls-cert / --tls-key)")
        return EXIT_FAIL
    hint = ""
    if code is grpc.StatusCode.UNAUTHENTICATED:
        hint = " (give a token: --token or SKYBATCH_TOKEN)"
    err.print(f"[bold red]error:[/] {details}{hint}")
    return EXIT_USAGE if code is grpc.StatusCode.INVALID_ARGUMENT else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
