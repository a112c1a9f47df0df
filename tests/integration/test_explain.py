"""``ExplainJob`` and ``skybatch explain`` against a real server, store and local cloud.

The local cloud sells every shape in three regions, each with its own vCPU pool;
here each pool holds 10 vCPUs, so one 8-vCPU node fills it. One plan step (no
launch, so no node starts) then places four jobs whose alternatives lose for every
reason the local cloud can show: a cheaper pool that is full, a higher price, a spot
offering without the slack for a fallback, spot that the job does not allow.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import grpc
import pytest

from scheduler.api.client import SkybatchClient
from scheduler.domain import JobExplanation, JobSpec, JobState, OptionLoss, Resources, utcnow
from scheduler.service import Service
from tests.conftest import ServiceFactory

counter = itertools.count()
US, EU, ASIA = "us-central1", "europe-west4", "asia-east1"
US_POOL = "local/us-central1/vcpu"


def spec(**kw: object) -> JobSpec:
    base = JobSpec(
        name=f"explain-{next(counter)}",
        command=("python", "-c", "print('hi')"),
        estimated_runtime=timedelta(minutes=30),
        deadline=utcnow() + timedelta(hours=1),
        resources=Resources(vcpus=8, memory_gib=32),
        spot_allowed=True,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture
def svc(service_factory: ServiceFactory) -> Service:
    return service_factory(control_loop=False, local_vcpu_quota=10.0)


def offering(region: str, shape: str, market: str) -> str:
    return f"local/{region}/{region}-a/{shape}/{market}"


def submit(c: SkybatchClient, *specs: JobSpec) -> list[str]:
    return [job.id for job, _ in c.submit(list(specs))]


def more(detail: str) -> Decimal:
    m = re.fullmatch(r"costs \$([0-9.]+) more.*", detail)
    assert m, detail
    return Decimal(m.group(1))


def test_explain_names_the_full_pool_the_price_the_deadline_and_the_market(svc: Service) -> None:
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        # Two 8-vCPU jobs for two pools (us-central1 is cheaper) and one fits each.
        a, b = submit(c, *(spec(allowed_regions=(US, EU)) for _ in range(2)))
        # 45 min x 1.2 ends in time on demand; spot also needs a 10 min checkpoint.
        slow = submit(c, spec(estimated_runtime=timedelta(minutes=45), allowed_regions=(ASIA,)))[0]
        # Fills asia-east1 with it: 8 + 2 vCPUs.
        [small] = submit(
            c, spec(resources=Resources(2, 8), spot_allowed=False, allowed_regions=(ASIA,))
        )
        [late] = submit(c, replace(spec(allowed_regions=(ASIA,)), spot_allowed=False))
        c.cancel(late)

        before = c.explain_job(a)
        assert before.state is JobState.PENDING and before.chosen is None
        assert "no plan covers it yet" in before.note

        stats = svc.loop.plan()
        assert stats.pending == 4 and stats.planned == 4

        ea, eb = c.explain_job(a), c.explain_job(b)
        assert {ea.decision.offering_id, eb.decision.offering_id} == {
            offering(US, "n2-standard-8", "spot"),
            offering(EU, "n2-standard-8", "spot"),
        }
        us_job, eu_job = (ea, eb) if US in ea.decision.offering_id else (eb, ea)
        for e in (us_job, eu_job):
            assert e.state is JobState.PLANNED and e.note == "" and e.planned_at is not None
            assert e.chosen is not None and e.chosen.loss is None
            assert e.chosen.cost.total == e.decision.expected_cost
            assert e.chosen.cost.rework > 0 and e.chosen.cost.egress == 0
            # n2-standard-8 is the only 8-vCPU shape: 2 regions x 2 markets fit.
            assert (e.considered, e.not_fitting) == (4, 38)

        losses = [(o.offering_id, o.loss) for o in eu_job.alternatives]
        assert losses == [
            (offering(US, "n2-standard-8", "spot"), OptionLoss.QUOTA),
            (offering(US, "n2-standard-8", "on-demand"), OptionLoss.PRICE),
            (offering(EU, "n2-standard-8", "on-demand"), OptionLoss.PRICE),
        ]
        quota = eu_job.alternatives[0]
        assert quota.cost.total < eu_job.chosen.cost.total  # type: ignore[union-attr]
        assert quota.detail.startswith(f"pool {US_POOL} is full at ")
        assert quota.detail.endswith("UTC (needs 8, 2 free)")
        dearer = eu_job.alternatives[1]
        assert more(dearer.detail) == dearer.cost.total - eu_job.chosen.cost.total  # type: ignore[union-attr]
        assert f"also: pool {US_POOL} is full" in dearer.detail

        # Its own pool has room (its own node aside); europe-west4 holds the other job.
        assert [(o.offering_id, o.loss, "also" in o.detail) for o in us_job.alternatives] == [
            (offering(EU, "n2-standard-8", "spot"), OptionLoss.PRICE, True),
            (offering(US, "n2-standard-8", "on-demand"), OptionLoss.PRICE, False),
            (offering(EU, "n2-standard-8", "on-demand"), OptionLoss.PRICE, True),
        ]

        e = c.explain_job(slow)
        assert e.decision.offering_id == offering(ASIA, "n2-standard-8", "on-demand")
        [spot] = e.alternatives
        assert spot.offering_id == offering(ASIA, "n2-standard-8", "spot")
        assert spot.loss is OptionLoss.DEADLINE
        assert spot.detail.startswith(
            "cannot finish by the deadline at its pessimistic runtime; "
            "spot also needs room for a fallback"
        )

        e = c.explain_job(small, alternatives=5)
        assert e.decision.placed and e.decision.offering_id.endswith("/on-demand")
        assert len(e.alternatives) == 5
        assert all(o.cost.total <= p.cost.total for o, p in itertools.pairwise(e.alternatives))
        spot_alts = [o for o in e.alternatives if o.offering_id.endswith("/spot")]
        assert spot_alts and all(o.loss is OptionLoss.MARKET for o in spot_alts)
        assert spot_alts[0].detail == "spot not allowed for this job"
        assert len(c.explain_job(small, alternatives=0).alternatives) == 0

        gone = c.explain_job(late)
        assert gone.state is JobState.CANCELLED and not gone.decision.placed
        assert gone.note == "job is CANCELLED; explanations cover jobs waiting to be placed"
        assert gone.chosen is None and gone.alternatives == ()


def test_unknown_and_other_tenants_jobs_are_not_found(svc: Service) -> None:
    with (
        SkybatchClient(svc.address, tenant="alpha") as alpha,
        SkybatchClient(svc.address, tenant="beta") as beta,
    ):
        [job] = submit(alpha, spec())
        svc.loop.plan()
        assert alpha.explain_job(job).chosen is not None
        for c, job_id in ((alpha, "j-does-not-exist"), (beta, job)):
            with pytest.raises(grpc.RpcError) as info:
                c.explain_job(job_id)
            assert info.value.code() is grpc.StatusCode.NOT_FOUND
        for job_id, n in (("", None), (job, -1), (job, 101)):
            with pytest.raises(grpc.RpcError) as info:
                alpha.explain_job(job_id, alternatives=n)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def skybatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_explain(svc: Service) -> None:
    with SkybatchClient(svc.address) as c:
        ids = submit(c, *(spec(allowed_regions=(US, EU)) for _ in range(2)))
        svc.loop.plan()
        explained: list[JobExplanation] = [c.explain_job(j) for j in ids]
    [eu] = [e for e in explained if EU in e.decision.offering_id]

    out = skybatch("explain", eu.job_id, "--server", svc.address)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"placed on {eu.decision.offering_id}" in text, text
    assert f"${eu.decision.expected_cost}" in text
    assert "cost of the chosen placement" in text and "rework (spot)" in text
    assert "quota" in text and f"pool {US_POOL} is full" in text and "price" in text
    assert "4 offerings fit the job, 38 do not" in text
    # Offering ids are never cut short, whatever else wraps.
    assert offering(US, "n2-standard-8", "on-demand") in text

    out = skybatch("explain", eu.job_id, "--alternatives", "1", "--server", svc.address)
    assert out.returncode == 0 and "quota" in out.stdout and "costs $" not in out.stdout

    out = skybatch("explain", "j-does-not-exist", "--server", svc.address)
    assert out.returncode == 1 and "not found" in out.stderr
    out = skybatch("explain", eu.job_id, "--alternatives", "-1", "--server", svc.address)
    assert out.returncode == 2 and "--alternatives" in out.stderr
