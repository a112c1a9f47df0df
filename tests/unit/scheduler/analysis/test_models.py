"""Cost-model versions as tables: accuracy before/after and the ratios learned."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from scheduler.analysis.models import accuracy_table, price_ratios
from scheduler.domain import CostModelVersion
from tests.unit.scheduler.analysis.synth import T0


def version(
    n: int, accuracy: dict[str, Any], prices: list[dict[str, Any]] | None = None
) -> CostModelVersion:
    return CostModelVersion(
        version=n,
        created_at=T0 + timedelta(hours=n),
        trigger="manual",
        params={"schema": 1, "prices": prices or []},
        accuracy=accuracy,
        inputs={"attempts": 10 * n, "billed_attempts": 5 * n},
    )


def errors(mape: float) -> dict[str, Any]:
    return {"predicted_micros": 1, "mape": mape, "bias": -mape, "total_error": mape / 2}


def test_accuracy_across_versions_before_and_after() -> None:
    skipped = version(1, {"holdout": {"skipped": "3 ended attempts, need 10 or more"}})
    fitted = version(
        2,
        {
            "holdout": {"holdout_attempts": 5, "fit_attempts": 15},
            "cost": {"attempts": 4, "catalog": errors(0.3), "fitted": errors(0.05)},
            "runtime": {"prior_coverage": 0.5, "fitted_coverage": 0.9},
        },
    )
    nothing_billed = version(
        3,
        {
            "holdout": {"holdout_attempts": 5},
            "cost": {"attempts": 0, "catalog": {"mape": None}, "fitted": {"mape": None}},
        },
    )
    table = accuracy_table([nothing_billed, skipped, fitted])
    assert list(table.index) == [1, 2, 3]
    assert table.loc[1, "skipped"].startswith("3 ended attempts")
    assert table.loc[2, "mape_catalog"] == pytest.approx(0.3)
    assert table.loc[2, "mape_fitted"] == pytest.approx(0.05)
    assert table.loc[2, "bias_fitted"] == pytest.approx(-0.05)
    assert table.loc[2, "runtime_coverage_fitted"] == pytest.approx(0.9)
    assert table.loc[2, "attempts"] == 20 and table.loc[2, "holdout_attempts"] == 5
    assert table["mape_fitted"].isna().tolist() == [True, False, True]


def test_no_versions() -> None:
    assert accuracy_table([]).empty


def test_price_ratios_coarsest_first_with_exact_dollars() -> None:
    def ratio(level: str, key: str, r: float) -> dict[str, Any]:
        return {
            "level": level,
            "key": key,
            "hours": 2.0,
            "effective_micros": 700_001,
            "list_micros": 1_000_000,
            "observed": 0.700001,
            "ratio": r,
        }

    v = version(
        1,
        {},
        [
            ratio("offering", "local/r/n2-standard-8/on-demand", 0.8),
            ratio("cloud", "local/on-demand", 0.95),
            ratio("family", "local/r/n2/on-demand", 0.9),
        ],
    )
    table = price_ratios(v)
    assert list(table["level"]) == ["cloud", "family", "offering"]
    assert table["effective"].iloc[0] == Decimal("0.700001")
    assert table["ratio"].tolist() == [0.95, 0.9, 0.8]
    assert price_ratios(version(2, {})).empty
