"""Which offerings a scenario setting applies to: selectors over offering ids.

An offering id is ``cloud/region/zone/instance_type/market``. A *selector* is a prefix
of those components, ``/``-separated, where ``*`` matches any one component:

- ``*`` or ``""``: every offering;
- ``aws``: every AWS offering; ``aws/us-east-1``: one region;
- ``*/*/*/*/spot``: every spot offering; ``gcp/*/*/a2-highgpu-8g``: one type anywhere;
- a whole offering id: that offering.

When several selectors of a mapping match one offering, the most specific wins (the
most components that are not ``*``); among equally specific ones, the one given last.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from adapters.base import Offering

T = TypeVar("T")

WILDCARD = "*"


def components(selector: str) -> tuple[str, ...]:
    """A selector's components (``*`` and ``""`` select everything: no components)."""
    stripped = selector.strip().strip("/")
    if stripped in ("", WILDCARD):
        return ()
    return tuple(stripped.split("/"))


def offering_components(o: Offering) -> tuple[str, str, str, str, str]:
    return (o.cloud, o.region, o.zone, o.instance_type, o.market.value)


def matches(selector: str, offering: Offering) -> bool:
    parts = components(selector)
    if len(parts) > 5:
        raise ValueError(f"selector {selector!r} has more than 5 components")
    own = offering_components(offering)
    return all(p in (WILDCARD, own[k]) for k, p in enumerate(parts))


def specificity(selector: str) -> int:
    return sum(1 for p in components(selector) if p != WILDCARD)


def resolve(settings: Mapping[str, T], offering: Offering) -> T | None:
    """The value of the most specific selector in ``settings`` matching ``offering``
    (ties: the later key), or None when none matches."""
    best: tuple[int, T] | None = None
    for selector, value in settings.items():
        if matches(selector, offering):
            rank = specificity(selector)
            if best is None or rank >= best[0]:
                best = (rank, value)
    return None if best is None else best[1]


def validate(settings: Mapping[str, object], what: str) -> None:
    """``ValueError`` naming ``what`` for a selector of more than 5 components."""
    for selector in settings:
        if len(components(selector)) > 5:
            raise ValueError(f"{what}: selector {selector!r} has more than 5 components")
