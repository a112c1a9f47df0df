"""Which attempt a billed line item pays for.

A line is ours when its tags name one of our attempts (every node skybatch launches
carries the ``skybatch-attempt`` tag; AWS exports user tags as ``user:<key>``), or
else when its resource id is one of our nodes (as is, or the last path segment of an
ARN or an Azure resource id). Anything else is someone else's spend.
"""

from __future__ import annotations

from collections.abc import Mapping, Set

import pandas as pd

from adapters.base import ATTEMPT_TAG

#: Tag keys under which clouds' exports carry our attempt tag.
ATTEMPT_TAG_KEYS = (ATTEMPT_TAG, f"user:{ATTEMPT_TAG}", f"tag:{ATTEMPT_TAG}")


def _from_tags(tags: object, attempts: Set[str]) -> str | None:
    if not tags or not isinstance(tags, dict):
        return None
    for key in ATTEMPT_TAG_KEYS:
        value = tags.get(key)
        if value and value in attempts:
            return str(value)
    return None


def _from_resource(resource_id: object, nodes: Mapping[str, str]) -> str | None:
    if not isinstance(resource_id, str) or not resource_id:
        return None
    hit = nodes.get(resource_id)
    if hit is None:
        hit = nodes.get(resource_id.rstrip("/").rsplit("/", 1)[-1])
    return hit


def match_attempts(
    frame: pd.DataFrame, attempts: Set[str], nodes: Mapping[str, str]
) -> list[str | None]:
    """The attempt id of each row of a bill frame (``Tags``, ``ResourceId``), or None."""
    out: list[str | None] = []
    for tags, resource_id in zip(frame["Tags"], frame["ResourceId"], strict=True):
        out.append(_from_tags(tags, attempts) or _from_resource(resource_id, nodes))
    return out
