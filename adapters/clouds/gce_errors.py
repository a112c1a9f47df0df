"""Google Compute Engine errors as the cloud port's errors.

libcloud's GCE driver raises a ``GoogleBaseError`` whose ``code`` is either the
``errors[0].code`` of a failed operation (``QUOTA_EXCEEDED``,
``ZONE_RESOURCE_POOL_EXHAUSTED``: a launch fails there, after the insert was accepted)
or the ``errors[0].reason`` of a failed HTTP call (``quotaExceeded``,
``rateLimitExceeded``, ``alreadyExists``, ``forbidden``). An operation's error comes
back in an HTTP 200 poll, so its status code says nothing; the code decides.

Mapping:

==========================================================  ==========================
``ZONE_RESOURCE_POOL_EXHAUSTED`` (and ``_WITH_DETAILS``)    :class:`CapacityError`
``QUOTA_EXCEEDED`` / ``quotaExceeded``: "Quota 'CPUS'       :class:`QuotaError`, with
exceeded.  Limit: 24.0 in region us-central1."              ``limit`` = 24.0
``quotaExceeded`` for an API request quota ("Quota          :class:`ThrottledError`
exceeded for quota metric 'Queries' ... per minute")
``rateLimitExceeded``, ``userRateLimitExceeded``,           :class:`ThrottledError`
``backendError``, ``internalError``
``GoogleAuthError`` (no token), ``authError``,              :class:`AuthError`
``forbidden``, ``insufficientPermissions``,
``accessNotConfigured`` (Compute API not enabled)
anything else                                               generic rules (HTTP 429 and
                                                            5xx throttled, 401/403 auth)
==========================================================  ==========================
"""

from __future__ import annotations

import re

from libcloud.common.google import GoogleAuthError, GoogleBaseError

from adapters.base import AuthError, CapacityError, CloudError, QuotaError, ThrottledError

CAPACITY_CODES = frozenset(
    {"ZONE_RESOURCE_POOL_EXHAUSTED", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS"}
)
QUOTA_CODES = frozenset({"QUOTA_EXCEEDED", "quotaExceeded"})
THROTTLE_CODES = frozenset(
    {"rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError"}
)
AUTH_CODES = frozenset({"authError", "forbidden", "insufficientPermissions", "accessNotConfigured"})
ALREADY_EXISTS_CODES = frozenset({"alreadyExists", "RESOURCE_ALREADY_EXISTS"})

# "Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1." (a resource quota) as
# opposed to "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'".
_RESOURCE_QUOTA = re.compile(r"Quota '[^']+' exceeded")
_LIMIT = re.compile(r"Limit:\s*([0-9]+(?:\.[0-9]+)?)")


def gce_error_message(exc: GoogleBaseError) -> str:
    """The human message of a GCE error.

    libcloud passes an HTTP error's whole ``errors[0]`` object as the value when it has
    a ``reason`` rather than a ``code``; the message is inside it.
    """
    value: object = exc.value
    if isinstance(value, dict):
        inner = value.get("message")
        return str(inner) if inner is not None else str(value)
    return str(value)


def quota_limit(message: str) -> float | None:
    """The limit GCE states in a quota message ("... Limit: 24.0 in region ..."), if any."""
    found = _LIMIT.search(message)
    return float(found.group(1)) if found else None


def map_gce_error(exc: Exception) -> CloudError | None:
    """The port error for a GCE error, or None to leave it to the generic rules."""
    if isinstance(exc, GoogleAuthError):
        return AuthError(f"cannot authenticate to GCE: {exc.value}", code="GoogleAuthError")
    if not isinstance(exc, GoogleBaseError):
        return None
    code = str(exc.code or "")
    message = gce_error_message(exc)
    if code in CAPACITY_CODES:
        return CapacityError(message, code=code)
    if code in QUOTA_CODES:
        if code == "quotaExceeded" and not _RESOURCE_QUOTA.search(message):
            return ThrottledError(message, code=code)
        return QuotaError(message, code=code, limit=quota_limit(message))
    if code in THROTTLE_CODES:
        return ThrottledError(message, code=code)
    if code in AUTH_CODES:
        return AuthError(message, code=code)
    if code in ALREADY_EXISTS_CODES:
        return CloudError(message, code=code)
    return None
