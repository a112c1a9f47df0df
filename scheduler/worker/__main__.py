"""Command line of the worker agent: ``python -m scheduler.worker --server H:P --attempt-id ID``.

Logs go to stderr (the node's console log) with UTC timestamps. Exit codes: 0 once the
end of the attempt was reported, 1 when the server could not be reached or refused
the attempt, 2 for bad arguments or a missing token.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time

from scheduler.worker.agent import TOKEN_ENV, Agent, AgentConfig, Interrupt
from scheduler.worker.rpc import WorkerClient

_ATTEMPT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def _attempt_id(value: str) -> str:
    if not _ATTEMPT_ID.fullmatch(value) or ".." in value:
        raise argparse.ArgumentTypeError(f"invalid attempt id {value!r}")
    return value


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    logging.basicConfig(level=level, handlers=[handler])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.worker", description=__doc__)
    parser.add_argument("--server", required=True, help="worker API address, HOST:PORT")
    parser.add_argument("--attempt-id", required=True, type=_attempt_id)
    parser.add_argument(
        "--grace", type=float, default=3.0, help="seconds to wait for the job after SIGTERM"
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    args = parser.parse_args(argv)
    _configure_logging(args.log_level)
    interrupt = Interrupt()
    interrupt.install()

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        logging.getLogger("scheduler.worker").error("%s is not set", TOKEN_ENV)
        return 2
    client = WorkerClient(args.server, args.attempt_id, token)
    try:
        agent = Agent(
            AgentConfig(args.server, args.attempt_id, grace_s=args.grace), client, interrupt
        )
        return agent.run()
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
