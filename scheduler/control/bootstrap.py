"""The boot script (cloud user data) that starts the worker agent on a node."""

from __future__ import annotations

import shlex


def boot_script(
    *, python: str, server: str, attempt_id: str, token: str, ca_pem: bytes | None = None
) -> str:
    """A POSIX shell script; the token is the attempt-scoped one, nothing else. With the
    server's CA (``ca_pem``) the worker dials TLS and verifies the server with it
    (``$SKYBATCH_TLS_CA_PEM``, read by ``scheduler.api.tls.ClientTLS.from_env``)."""
    q = shlex.quote
    ca = (
        f"SKYBATCH_TLS_CA_PEM={q(ca_pem.decode())}\nexport SKYBATCH_TLS_CA_PEM\n"
        if ca_pem is not None
        else ""
    )
    return (
        "#!/bin/sh\n"
        "# skybatch worker bootstrap\n"
        f"SKYBATCH_ATTEMPT_TOKEN={q(token)}\n"
        "export SKYBATCH_ATTEMPT_TOKEN\n"
        f"{ca}"
        f"exec {q(python)} -m scheduler.worker --server {q(server)} --attempt-id {q(attempt_id)}\n"
    )
