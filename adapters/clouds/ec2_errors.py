"""EC2 error codes as the cloud port's errors.

libcloud's EC2 driver turns an EC2 error answer (``<Errors><Error><Code/><Message/>``)
into an exception whose text is ``"Code: message"``, one line per error: a
``BaseHTTPError`` (its ``code`` is the HTTP status, its ``message`` that text) for most,
``InvalidCredsError`` for ``AuthFailure``, ``InvalidClientTokenId``,
``SignatureDoesNotMatch`` and ``OptInRequired``, ``IdempotentParamError`` for
``IdempotentParameterMismatch``. :func:`map_ec2_error` reads the first EC2 code back
out of that text and maps it; exceptions that carry no EC2 code are left to the
generic rules of :func:`adapters.libcloud_compute.map_libcloud_error`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import ProviderError

from adapters.base import AuthError, CapacityError, CloudError, QuotaError, ThrottledError
from adapters.libcloud_compute import map_libcloud_error

_CAPACITY = frozenset(
    {
        "InsufficientInstanceCapacity",
        "InsufficientCapacity",
        "InsufficientHostCapacity",
        "InsufficientReservedInstanceCapacity",
        # The spot price is above our maximum (the on-demand price): not obtainable now.
        "SpotMaxPriceTooLow",
    }
)
_QUOTA = frozenset({"InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded"})
_THROTTLED = frozenset(
    {
        "RequestLimitExceeded",
        "Throttling",
        "ThrottlingException",
        "ServiceUnavailable",
        "Unavailable",
        "InternalError",
        "InternalFailure",
    }
)
_AUTH = frozenset(
    {
        "AuthFailure",
        "UnauthorizedOperation",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "OptInRequired",
        "ExpiredToken",
    }
)
KINDS: Mapping[str, type[CloudError]] = MappingProxyType(
    {
        **dict.fromkeys(_CAPACITY, CapacityError),
        **dict.fromkeys(_QUOTA, QuotaError),
        **dict.fromkeys(_THROTTLED, ThrottledError),
        **dict.fromkeys(_AUTH, AuthError),
    }
)

# "Code: message" at the start of a line; codes look like "InvalidAMIID.NotFound".
_CODE_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*): (.*)$", re.MULTILINE)
# "... than your current vCPU limit of 32 allows ...", "... instance limit of 20 ...".
_LIMIT = re.compile(r"\blimit of (\d+(?:\.\d+)?)\b")


def ec2_error_code(exc: Exception) -> tuple[str, str] | None:
    """(code, message) of the first EC2 error in a libcloud HTTP error, or None."""
    if isinstance(exc, BaseHTTPError):
        text = str(exc.message or "")
    elif isinstance(exc, ProviderError):  # its str() is a repr, with quotes around the value
        text = str(exc.value or "")
    else:  # not an answer from EC2 (a connection error, a bug): no code to read
        return None
    match = _CODE_LINE.search(text)
    return (match.group(1), match.group(2)) if match else None


def map_ec2_error(exc: Exception) -> CloudError | None:
    """The port error for an EC2 error code; None when ``exc`` carries no EC2 code."""
    found = ec2_error_code(exc)
    if found is None:
        return None
    code, message = found
    kind = KINDS.get(code)
    if kind is QuotaError:
        limit = _LIMIT.search(message)
        return QuotaError(message, code=code, limit=float(limit.group(1)) if limit else None)
    if kind is not None:
        return kind(message, code=code)
    # An EC2 code we have no rule for: the generic rules decide the class (a 5xx is
    # still worth a retry), the EC2 code is kept for whoever reads the error.
    return type(map_libcloud_error(exc))(message, code=code)
