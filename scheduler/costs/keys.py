"""The keys the cost model groups evidence by: offering, instance family, region, cloud.

Keys are plain ``/``-joined strings so that they read well in JSON and in
``skybatch costmodel diff``. The zone is never part of a key: prices, preemption
rates and launch delays are estimated per region.
"""

from __future__ import annotations

import re

_AZURE = re.compile(r"^(Standard|Basic)_([A-Za-z]+)")
_SEPARATOR = re.compile(r"[-.]")


def family(instance_type: str) -> str:
    """The instance family: what shapes of one hardware generation share.

    Azure sizes keep their tier and leading letters (``Standard_D4s_v5`` ->
    ``Standard_D``, ``Standard_NC24ads_A100_v4`` -> ``Standard_NC``); other names are cut
    at the first ``-`` or ``.`` (``n2-standard-4`` -> ``n2``, ``m5.large`` -> ``m5``); a
    name with neither is its own family.
    """
    m = _AZURE.match(instance_type)
    if m:
        return f"{m.group(1)}_{m.group(2)}"
    return _SEPARATOR.split(instance_type, maxsplit=1)[0]


def offering_key(cloud: str, region: str, instance_type: str, market: str) -> str:
    """``cloud/region/instance_type/market``: the finest level prices are fitted at."""
    return f"{cloud}/{region}/{instance_type}/{market}"


def family_key(cloud: str, region: str, instance_type: str, market: str) -> str:
    """``cloud/region/family/market``: shapes of one family in one region and market."""
    return f"{cloud}/{region}/{family(instance_type)}/{market}"


def cloud_key(cloud: str, market: str) -> str:
    """``cloud/market``: what a cloud-wide discount (an enterprise agreement) applies to."""
    return f"{cloud}/{market}"


def hazard_key(cloud: str, region: str, instance_type: str) -> str:
    """``cloud/region/family``: the level spot preemption hazards are fitted at."""
    return f"{cloud}/{region}/{family(instance_type)}"


def region_key(cloud: str, region: str) -> str:
    """``cloud/region``: the level launch delays are fitted at."""
    return f"{cloud}/{region}"
