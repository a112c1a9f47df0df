"""Effective prices: hidden discounts are recovered with evidence, list price without."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from adapters.base import Offering
from scheduler.costs import CostModel, RefitSettings, refit
from tests.unit.scheduler.costs.synth import T0, History, offering

N2_4 = offering("gcp", "us-central1", "n2-standard-4", price="0.194236")
N2_HM2 = offering("gcp", "us-central1", "n2-highmem-2", price="0.131")
N2_8 = offering("gcp", "us-central1", "n2-standard-8", price="0.388472")
E2_4 = offering("gcp", "us-central1", "e2-standard-4", price="0.134")
N2_EAST = offering("gcp", "us-east1", "n2-standard-4", price="0.194236")
M5 = offering("aws", "us-east-1", "m5.large", price="0.096")
CATALOG = [N2_4, N2_HM2, N2_8, E2_4, N2_EAST, M5]


def _runs(h: History, o: Offering, n: int, *, hours: float, ratio: float) -> None:
    for i in range(n):
        h.run(o, at=T0 + timedelta(hours=i), hours=hours, ratio=ratio)


def _model(h: History) -> CostModel:
    return refit(*h.frames(), CATALOG, settings=RefitSettings()).model


def test_a_hidden_discount_on_one_family_is_recovered_with_many_hours() -> None:
    h = History()
    _runs(h, N2_4, 50, hours=10, ratio=0.7)  # 500 h at 30% off
    _runs(h, E2_4, 50, hours=10, ratio=1.0)  # same region, other family, at list
    _runs(h, M5, 20, hours=10, ratio=1.0)
    model = _model(h)
    assert model.price_ratio("gcp", "us-central1", "n2-standard-4", "on-demand") == pytest.approx(
        0.7, abs=0.01
    )
    assert model.price_ratio("gcp", "us-central1", "e2-standard-4", "on-demand") == pytest.approx(
        1.0, abs=0.01
    )
    adjusted = model.offering(N2_4)
    assert float(adjusted.price_per_hour) == pytest.approx(0.194236 * 0.7, rel=0.01)
    assert adjusted.price_per_hour == adjusted.price_per_hour.quantize(Decimal("0.000001"))
    assert float(model.offering(M5).price_per_hour) == pytest.approx(0.096, rel=0.01)
    # Only the price moved.
    assert adjusted.vcpus == N2_4.vcpus and adjusted.zone == N2_4.zone


def test_a_tenth_of_an_hour_is_mostly_shrunk_to_the_list_price() -> None:
    h = History()
    h.run(N2_4, hours=0.1, ratio=0.7)
    ratio = _model(h).price_ratio("gcp", "us-central1", "n2-standard-4", "on-demand")
    assert 0.97 < ratio < 1.0


def test_an_unseen_shape_gets_its_familys_discount() -> None:
    h = History()
    _runs(h, N2_4, 20, hours=10, ratio=0.7)
    _runs(h, N2_HM2, 20, hours=10, ratio=0.7)
    _runs(h, E2_4, 40, hours=10, ratio=1.0)
    model = _model(h)
    unseen = model.price_ratio("gcp", "us-central1", "n2-standard-8", "on-demand")
    assert unseen == pytest.approx(0.7, abs=0.02)
    assert float(model.offering(N2_8).price_per_hour) == pytest.approx(0.388472 * 0.7, rel=0.03)
    # Another region or family only gets the cloud's blend of discount and list price.
    cloud_wide = model.price_ratio("gcp", "us-east1", "n2-standard-4", "on-demand")
    assert 0.75 < cloud_wide < 0.95
    # Spot is a market of its own: nothing billed there, nothing changes.
    assert model.price_ratio("gcp", "us-central1", "n2-standard-4", "spot") == 1.0
    assert model.price_ratio("aws", "us-east-1", "m5.large", "on-demand") == 1.0


def test_levels_are_reported_with_their_evidence() -> None:
    h = History()
    _runs(h, N2_4, 3, hours=2, ratio=0.5)
    params = refit(*h.frames(), CATALOG).params
    by_level = {(p.level, p.key): p for p in params.prices}
    off = by_level[("offering", "gcp/us-central1/n2-standard-4/on-demand")]
    fam = by_level[("family", "gcp/us-central1/n2/on-demand")]
    cloud = by_level[("cloud", "gcp/on-demand")]
    for p in (off, fam, cloud):
        assert p.hours == pytest.approx(6.0)
        assert p.observed == pytest.approx(0.5, abs=1e-6)
        assert p.effective_micros == pytest.approx(p.list_micros / 2, abs=3)
    # Each level is between its observation and its parent.
    assert 0.5 < off.ratio < fam.ratio < cloud.ratio < 1.0


def test_price_drift_shows_against_the_catalog_price_at_launch() -> None:
    """Billed at the (new, higher) list price while the catalog still says the old one:
    the ratio is above 1, and billed ListCost stands in when the catalog price is missing."""
    h = History()
    stale = 200_000  # the catalog said $0.20/h; the bill says 0.194236 x 1.1
    for i in range(30):
        h.run(N2_4, at=T0 + timedelta(hours=i), hours=10, ratio=1.1, list_price_micros=stale)
    for i in range(30):
        h.run(E2_4, at=T0 + timedelta(hours=i), hours=10, ratio=0.8, list_price_micros=0)
    result = refit(*h.frames(), CATALOG)
    model = result.model
    expected = 0.194236 * 1.1 / 0.2
    assert model.price_ratio("gcp", "us-central1", "n2-standard-4", "on-demand") == pytest.approx(
        expected, abs=0.02
    )
    assert model.price_ratio("gcp", "us-central1", "e2-standard-4", "on-demand") == pytest.approx(
        0.8, abs=0.02
    )
    assert result.inputs["billed_list_over_catalog_list"] == pytest.approx(0.194236 / 0.2, rel=1e-3)


def test_usage_hours_come_from_the_charge_period_when_the_unit_is_not_hours() -> None:
    h = History()
    for i in range(10):
        h.run(N2_4, at=T0 + timedelta(hours=i), hours=5, ratio=0.6, unit="Requests")
    params = refit(*h.frames(), CATALOG).params
    off = next(p for p in params.prices if p.level == "offering")
    assert off.hours == pytest.approx(50.0)
    assert off.observed == pytest.approx(0.6, abs=1e-6)


def test_ratios_are_clamped() -> None:
    h = History()
    _runs(h, N2_4, 10, hours=100, ratio=0.0)
    knobs = RefitSettings(price_ratio_min=0.05)
    ratio = refit(*h.frames(), CATALOG, settings=knobs).model.price_ratio(
        "gcp", "us-central1", "n2-standard-4", "on-demand"
    )
    assert ratio == 0.05
