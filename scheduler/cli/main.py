"""The ``skybatch`` command line. Exit codes: 0 ok, 1 failure, 2 bad input."""

from __future__ import annotations

import argparse
import sys

import grpc

from scheduler.cli import admin, commands, demo, report, serve, simulate, solve
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
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
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
        return EXIT_FAIL
    err.print(f"[bold red]error:[/] {details}")
    return EXIT_USAGE if code is grpc.StatusCode.INVALID_ARGUMENT else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
