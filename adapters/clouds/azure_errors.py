"""Azure Resource Manager errors as the cloud port's errors.

ARM answers an error with ``{"error": {"code": "...", "message": "..."}}``; libcloud's
Azure driver raises ``BaseHTTPError(status, "[Code] message")``. The Azure AD token
endpoint answers ``{"error": "invalid_client", "error_description": "AADSTS...: ..."}``,
which libcloud raises as ``BaseHTTPError(status, "AADSTS...: ...")``.

Mapping:

=============================================================  ===========================
``QuotaExceeded``; ``OperationNotAllowed`` about a quota         :class:`QuotaError`, with
("... exceeding approved Total Regional Cores quota. ...           ``limit`` from
Current Limit: 10, Current Usage: 8, ...")                        "Current Limit: N"
``SkuNotAvailable``, ``AllocationFailed``,                     :class:`CapacityError`
``ZonalAllocationFailed``, ``OverconstrainedAllocationRequest``,
``OverconstrainedZonalAllocationRequest``
``TooManyRequests``, ``RetryableError``                        :class:`ThrottledError`
``AuthorizationFailed``, ``AuthenticationFailed``,             :class:`AuthError`
``InvalidAuthenticationToken*``, ``LinkedAuthorizationFailed``,
any ``AADSTS`` token error
anything else                                                  generic rules (HTTP 429 and
                                                               5xx throttled, 401/403 auth)
=============================================================  ===========================

``AllocationFailed`` mostly arrives after the create was accepted, as the VM's failed
provisioning state rather than as an error of the call; see
:meth:`adapters.clouds.azure.AzureProfile.node_info`.
"""

from __future__ import annotations

import re

from libcloud.common.exceptions import BaseHTTPError

from adapters.base import AuthError, CapacityError, CloudError, QuotaError, ThrottledError

CAPACITY_CODES = frozenset(
    {
        "SkuNotAvailable",
        "AllocationFailed",
        "ZonalAllocationFailed",
        "OverconstrainedAllocationRequest",
        "OverconstrainedZonalAllocationRequest",
    }
)
THROTTLE_CODES = frozenset({"TooManyRequests", "RetryableError"})
AUTH_CODES = frozenset(
    {
        "AuthorizationFailed",
        "AuthenticationFailed",
        "InvalidAuthenticationToken",
        "InvalidAuthenticationTokenTenant",
        "LinkedAuthorizationFailed",
    }
)

_CODE = re.compile(r"^\[(?P<code>[A-Za-z0-9_.]+)\]\s*(?P<message>.*)$", re.DOTALL)
_LIMIT = re.compile(r"Current Limit:\s*([0-9]+(?:\.[0-9]+)?)")


def azure_error(exc: BaseHTTPError) -> tuple[str, str]:
    """(ARM error code, message) of a libcloud Azure error; the code is "" when the
    message carries none."""
    text = str(exc.message or "")
    found = _CODE.match(text)
    if found:
        return found["code"], found["message"]
    return "", text


def quota_limit(message: str) -> float | None:
    """The limit Azure states in a quota message ("Current Limit: 10"), if any."""
    found = _LIMIT.search(message)
    return float(found.group(1)) if found else None


def map_azure_error(exc: Exception) -> CloudError | None:
    """The port error for an Azure error, or None to leave it to the generic rules."""
    if not isinstance(exc, BaseHTTPError):
        return None
    code, message = azure_error(exc)
    if code == "QuotaExceeded" or (code == "OperationNotAllowed" and "quota" in message.lower()):
        return QuotaError(message, code=code, limit=quota_limit(message))
    if code in CAPACITY_CODES:
        return CapacityError(message, code=code)
    if code in THROTTLE_CODES:
        return ThrottledError(message, code=code)
    if code in AUTH_CODES:
        return AuthError(message, code=code)
    if "AADSTS" in message:
        return AuthError(message, code="AADSTS")
    return None
