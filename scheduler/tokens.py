"""Attempt-scoped worker tokens: HMAC(server secret, attempt id).

Derivable again after a crash (so a relaunch with the same idempotency token hands
the worker the same credential), never stored, and useless for any other attempt.
"""

from __future__ import annotations

import hashlib
import hmac

TOKEN_METADATA_KEY = "x-skybatch-attempt-token"


def attempt_token(secret: str, attempt_id: str) -> str:
    return hmac.new(secret.encode(), attempt_id.encode(), hashlib.sha256).hexdigest()


def token_valid(secret: str, attempt_id: str, token: str) -> bool:
    return hmac.compare_digest(attempt_token(secret, attempt_id), token)
