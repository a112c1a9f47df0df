"""What changed between two fits, for ``skybatch costmodel diff``.

Compared: price ratios (``price_ratio``, keyed ``level/key``), spot hazard posteriors
(``hazard``), runtime factors (``runtime_factor``), launch delay posteriors
(``launch_delay_s``) and the knobs (``knob``). An entry is listed when it was added or
removed, or when its value moved by more than ``rel_tol`` of the old value (and more
than ``abs_tol``); a knob is listed whenever it differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.costs.params import CostModelParams

KINDS: tuple[str, ...] = ("price_ratio", "hazard", "runtime_factor", "launch_delay_s", "knob")


@dataclass(frozen=True)
class ParamChange:
    """``old`` is None for an added entry, ``new`` for a removed one;
    ``relative_change`` is ``(new - old) / |old|``, None when either is None or old is 0."""

    kind: str
    key: str
    old: float | None
    new: float | None
    relative_change: float | None


def _values(p: CostModelParams) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    out.update({("price_ratio", f"{r.level}/{r.key}"): r.ratio for r in p.prices})
    out.update({("hazard", h.key): h.posterior for h in p.hazards})
    out.update({("runtime_factor", r.class_key): r.factor for r in p.runtimes})
    out.update({("launch_delay_s", d.key): d.posterior_s for d in p.launch_delays})
    return out


def _relative(old: float | None, new: float | None) -> float | None:
    if old is None or new is None or old == 0:
        return None
    return (new - old) / abs(old)


def diff(
    a: CostModelParams, b: CostModelParams, *, rel_tol: float = 0.01, abs_tol: float = 0.0
) -> list[ParamChange]:
    """Changes from ``a`` (old) to ``b`` (new), sorted by kind (in :data:`KINDS` order)
    and key."""
    if rel_tol < 0 or abs_tol < 0:
        raise ValueError("rel_tol and abs_tol must be >= 0")
    old, new = _values(a), _values(b)
    changes: list[ParamChange] = []
    for k in old.keys() | new.keys():
        o, n = old.get(k), new.get(k)
        if o is not None and n is not None:
            moved = abs(n - o)
            if moved <= abs_tol or moved <= rel_tol * abs(o):
                continue
        changes.append(ParamChange(k[0], k[1], o, n, _relative(o, n)))
    knobs_a, knobs_b = a.knobs.to_json(), b.knobs.to_json()
    for name in knobs_a:
        ka, kb = knobs_a[name], knobs_b[name]
        if ka != kb:
            fa = None if ka is None else float(ka)
            fb = None if kb is None else float(kb)
            changes.append(ParamChange("knob", name, fa, fb, _relative(fa, fb)))
    order = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(changes, key=lambda c: (order[c.kind], c.key))
