"""The boot script (cloud user data) that starts the worker agent on a node."""

from __future__ import annotations

import shlex

from scheduler.api.tls import CA_PEM_ENV, CERT_PEM_ENV, KEY_PEM_ENV, ClientTLS


def boot_script(
    *, python: str, server: str, attempt_id: str, token: str, tls: ClientTLS | None = None
) -> str:
    """A POSIX shell script; the token is the attempt-scoped one, nothing else. With
    ``tls`` (the server's CA, and under mutual TLS the workers' client certificate and
    key) the worker dials TLS: ``$SKYBATCH_TLS_{CA,CERT,KEY}_PEM``, read by
    ``scheduler.api.tls.ClientTLS.from_pem_env``. The key is as secret as the token:
    whoever can read the node's user data has both."""
    q = shlex.quote
    exports = ""
    if tls is not None:
        for name, pem in (
            (CA_PEM_ENV, tls.root_ca),
            (CERT_PEM_ENV, tls.cert_chain),
            (KEY_PEM_ENV, tls.private_key),
        ):
            if pem is not None:
                exports += f"{name}={q(pem.decode())}\nexport {name}\n"
    return (
        "#!/bin/sh\n"
        "# skybatch worker bootstrap\n"
        f"SKYBATCH_ATTEMPT_TOKEN={q(token)}\n"
        "export SKYBATCH_ATTEMPT_TOKEN\n"
        f"{exports}"
        f"exec {q(python)} -m scheduler.worker --server {q(server)} --attempt-id {q(attempt_id)}\n"
    )
