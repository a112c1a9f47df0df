"""The boot script (cloud user data) that starts the worker agent on a node."""

from __future__ import annotations

import shlex


def boot_script(*, python: str, server: str, attempt_id: str, token: str) -> str:
    """A POSIX shell script; the token is the attempt-scoped one, nothing else."""
    q = shlex.quote
    return (
        "#!/bin/sh\n"
        "# skybatch worker bootstrap\n"
        f"SKYBATCH_ATTEMPT_TOKEN={q(token)}\n"
        "export SKYBATCH_ATTEMPT_TOKEN\n"
        f"exec {q(python)} -m scheduler.worker --server {q(server)} --attempt-id {q(attempt_id)}\n"
    )
