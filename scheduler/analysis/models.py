"""Cost-model versions as tables: accuracy on held-back data, and the price ratios learned.

Each refit stores its accuracy (``accuracy_json``, laid out by
:mod:`scheduler.costs.accuracy`): a fit on all but the newest attempts predicts the
held-back attempts' billed cost, next to the catalog's prediction (list price). MAPE
"before" is the catalog's, "after" the fitted model's. A version whose history was
too short has ``holdout.skipped`` instead (shown in ``skipped``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from scheduler.costs.params import LEVELS
from scheduler.domain import CostModelVersion
from solver.money import from_micros

#: Columns of :func:`accuracy_table`'s frame.
ACCURACY_COLUMNS: tuple[str, ...] = (
    "version",
    "created_at",
    "trigger",
    "attempts",
    "billed_attempts",
    "holdout_attempts",
    "cost_attempts",
    "mape_catalog",
    "mape_fitted",
    "bias_catalog",
    "bias_fitted",
    "total_error_catalog",
    "total_error_fitted",
    "runtime_coverage_prior",
    "runtime_coverage_fitted",
    "skipped",
)

#: Columns of :func:`price_ratios`'s frame.
PRICE_RATIO_COLUMNS: tuple[str, ...] = (
    "level",
    "key",
    "hours",
    "effective",
    "listed",
    "observed",
    "ratio",
)


def _get(doc: Mapping[str, Any], *path: str) -> Any:
    node: Any = doc
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def accuracy_table(models: Sequence[CostModelVersion]) -> pd.DataFrame:
    """One row per version (oldest first; :data:`ACCURACY_COLUMNS`). Errors are
    fractions (0.05 is 5%), None where a version has no such number."""
    rows = []
    for m in sorted(models, key=lambda v: v.version):
        acc, inputs = m.accuracy, m.inputs
        rows.append(
            (
                m.version,
                m.created_at,
                m.trigger,
                _int(inputs.get("attempts")),
                _int(inputs.get("billed_attempts")),
                _int(_get(acc, "holdout", "holdout_attempts")),
                _int(_get(acc, "cost", "attempts")),
                _float(_get(acc, "cost", "catalog", "mape")),
                _float(_get(acc, "cost", "fitted", "mape")),
                _float(_get(acc, "cost", "catalog", "bias")),
                _float(_get(acc, "cost", "fitted", "bias")),
                _float(_get(acc, "cost", "catalog", "total_error")),
                _float(_get(acc, "cost", "fitted", "total_error")),
                _float(_get(acc, "runtime", "prior_coverage")),
                _float(_get(acc, "runtime", "fitted_coverage")),
                str(_get(acc, "holdout", "skipped") or ""),
            )
        )
    out = pd.DataFrame.from_records(rows, columns=list(ACCURACY_COLUMNS))
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    for name in ACCURACY_COLUMNS[3:7]:
        out[name] = out[name].astype("Int64")
    for name in ACCURACY_COLUMNS[7:15]:
        out[name] = out[name].astype("float64")
    return out.set_index("version")


def price_ratios(model: CostModelVersion) -> pd.DataFrame:
    """The effective / list price ratios a version learned (:data:`PRICE_RATIO_COLUMNS`),
    coarsest level first (cloud, family, offering), then by key. ``effective`` and
    ``listed`` are the billed dollars behind ``observed``; ``ratio`` is what the
    planner uses (``observed`` shrunk toward the level above)."""
    prices = model.params.get("prices", [])
    order = {level: i for i, level in enumerate(reversed(LEVELS))}
    rows = [
        (
            str(p["level"]),
            str(p["key"]),
            float(p["hours"]),
            from_micros(int(p["effective_micros"])),
            from_micros(int(p["list_micros"])),
            float(p["observed"]),
            float(p["ratio"]),
        )
        for p in sorted(prices, key=lambda p: (order.get(str(p["level"]), 99), str(p["key"])))
    ]
    out = pd.DataFrame.from_records(rows, columns=list(PRICE_RATIO_COLUMNS))
    for name in ("effective", "listed"):
        out[name] = out[name].astype(object)
    return out
