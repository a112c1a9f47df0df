"""Launch delay per cloud/region: the median shrunk toward the catalog's delay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.costs import refit
from tests.unit.scheduler.costs.synth import T0, History, offering

A = offering("gcp", "us-central1", "n2-standard-4", delay_s=90.0)
A_SPOT = offering("gcp", "us-central1", "n2-standard-4", "spot", delay_s=90.0)
B = offering("aws", "us-east-1", "m5.large", delay_s=90.0)


def test_launch_delay_medians_shrunk_toward_the_catalog() -> None:
    h = History()
    for i, d in enumerate([30, 40, 50, 1000]):  # median 45; the outlier does not matter
        h.run(A, at=T0 + timedelta(hours=i), delay_s=d, bill=False)
    for i in range(100):
        h.run(B, at=T0 + timedelta(hours=i), delay_s=120, bill=False)
    result = refit(*h.frames(), [A, A_SPOT, B])
    by_key = {d.key: d for d in result.params.launch_delays}
    a, b = by_key["gcp/us-central1"], by_key["aws/us-east-1"]
    assert (a.n, a.median_s, a.prior_s) == (4, 45.0, 90.0)
    assert a.posterior_s == pytest.approx((4 * 45 + 5 * 90) / 9)
    assert b.median_s == 120.0
    assert b.posterior_s == pytest.approx((100 * 120 + 5 * 90) / 105)
    model = result.model
    assert model.offering(A_SPOT).launch_delay_s == a.posterior_s
    assert model.offering(B).launch_delay_s == b.posterior_s


def test_attempts_that_never_started_give_no_delay() -> None:
    h = History()
    h.run(A, bill=False)
    attempts, jobs, billing = h.frames()
    attempts["started_at"] = None
    assert refit(attempts, jobs, billing, [A]).params.launch_delays == ()
