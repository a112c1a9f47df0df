"""Deterministic node names derived from a launch's idempotency token.

GCE has no client token on ``instances.insert`` and Azure's create is a PUT by name, so
both make a launch idempotent by naming the node after the token: a retried insert of
the same token hits the same name (GCE answers "already exists", Azure updates the VM it
already has) instead of creating a second node.
"""

from __future__ import annotations

import hashlib
import re

PREFIX = "skybatch"
_UNSAFE = re.compile(r"[^a-z0-9-]+")
_DIGEST_CHARS = 10


def name_for_token(token: str, *, max_len: int = 63) -> str:
    """``skybatch-<token>`` when the token is already a safe name, else a sanitized
    prefix of it plus a digest of the whole token.

    The result matches ``[a-z]([-a-z0-9]*[a-z0-9])?`` (GCE's rule for instance names,
    also valid for Azure VM names) and is at most ``max_len`` characters. Only the token
    decides it: two calls with one token always give the same name, and tokens that
    sanitize alike still differ by their digest.
    """
    if not token:
        raise ValueError("a node name needs a non-empty token")
    clean = _UNSAFE.sub("-", token.lower()).strip("-")
    if clean == token and len(PREFIX) + 1 + len(clean) <= max_len:
        return f"{PREFIX}-{clean}"
    digest = hashlib.sha256(token.encode()).hexdigest()[:_DIGEST_CHARS]
    room = max_len - len(PREFIX) - _DIGEST_CHARS - 2
    head = clean[:room].strip("-")
    return f"{PREFIX}-{head}-{digest}" if head else f"{PREFIX}-{digest}"
