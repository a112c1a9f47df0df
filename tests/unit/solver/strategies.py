"""Hypothesis strategies for small random :class:`solver.Problem` instances.

Small on purpose -- 1-8 jobs, 2-6 offerings, 4-8 slots -- so that an exact referee can
solve every one of them, yet rich enough to reach every rule of the formulation:
on-demand and spot, GPUs, quota pools that are empty or change over the horizon,
prices that change per slot, deadlines from impossible to generous, earliest starts
(inside and past the horizon), data that must move across clouds, tenants with tight
(and overlapping) budgets. Jobs are drawn from a few templates so that identical jobs
form classes; most templates are sized for one of the offerings, so most jobs fit
somewhere and the interesting part -- who gets the scarce room -- is reached. Amounts
are whole or halves, so float sums of them are exact.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import strategies as st

from solver import Budget, EgressPrice, Job, Market, Offering, Problem, QuotaPool

HOUR = 3600
GPU_TYPES = ("T4", "A100")
TENANTS = ("default", "ml", "etl")


def _halves(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.integers(int(lo * 2), int(hi * 2)).map(lambda k: k / 2)


def _capacity(big: float) -> st.SearchStrategy[float]:
    """Free quota: empty, scarce, or plenty (weighted towards scarce)."""
    return st.sampled_from(["scarce", "plenty", "scarce", "plenty", "zero"]).flatmap(
        lambda kind: {
            "zero": st.just(0.0),
            "scarce": _halves(0, big),
            "plenty": _halves(big, 4 * big),
        }[kind]
    )


@st.composite
def _pools(draw: st.DrawFn, locations: list[str], T: int) -> list[QuotaPool]:
    """A vCPU and a GPU pool per region, each sometimes unlisted (unlimited) and
    sometimes changing over the horizon (``free_by_slot`` shorter or longer than it)."""
    pools: list[QuotaPool] = []
    for loc in locations:
        for kind, big in (("vcpu", 24.0), ("gpu", 4.0)):
            if draw(st.integers(0, 5)) == 5:
                continue
            by_slot: tuple[float, ...] = ()
            if draw(st.integers(0, 2)) == 0:
                by_slot = tuple(draw(st.lists(_capacity(big), min_size=1, max_size=T + 2)))
            pools.append(QuotaPool(f"{loc}/{kind}", draw(_capacity(big)), by_slot))
    return pools


@st.composite
def _offering(draw: st.DrawFn, k: int, locations: list[str], T: int, price_slots: int) -> Offering:
    loc = draw(st.sampled_from(locations))
    cloud, region = loc.split(":")
    market = draw(st.sampled_from([Market.ON_DEMAND, Market.SPOT]))
    vcpus = float(draw(st.sampled_from([2, 4, 8, 16])))
    gpus = draw(st.sampled_from([0, 0, 0, 1, 2, 4]))
    by_slot: tuple[int, ...] = ()
    if draw(st.booleans()):
        prices = st.integers(5, 4000).map(lambda p: p * 1000)
        by_slot = tuple(draw(st.lists(prices, max_size=price_slots)))
    draws = [(f"{loc}/vcpu", vcpus)]
    if gpus:
        draws.append((f"{loc}/gpu", float(gpus)))
    return Offering(
        id=f"o{k}-{market}",
        cloud=cloud,
        region=region,
        zone=f"{region}-a",
        instance_type=f"t{int(vcpus)}g{gpus}",
        market=market,
        vcpus=vcpus,
        memory_gib=vcpus * draw(st.sampled_from([2, 4, 8])),
        gpu_count=gpus,
        gpu_type=draw(st.sampled_from(GPU_TYPES)) if gpus else "",
        price_micros_per_hour=draw(st.integers(10, 4000)) * 1000,
        # Hazard on on-demand must not matter; give it one sometimes to check that.
        hazard_per_hour=draw(st.sampled_from([0.0, 0.05, 0.2, 1.0])),
        launch_delay_s=draw(st.sampled_from([0, 60, 300, 900])),
        quota_draw=tuple(draws),
        price_micros_by_slot=by_slot,
    )


@st.composite
def _template(
    draw: st.DrawFn, now: int, slot_s: int, T: int, offerings: list[Offering], locations: list[str]
) -> Job:
    end = now + T * slot_s
    runtime = draw(st.integers(int(0.2 * HOUR), draw(st.sampled_from([2, 2, 6])) * HOUR))
    runtime_p = int(runtime * draw(st.sampled_from([1.0, 1.2, 1.5])))
    # Sized for one offering (most of the time), or for none in particular.
    target = draw(st.sampled_from(offerings)) if offerings and draw(st.integers(0, 5)) < 5 else None
    if target is not None:
        vcpus = draw(_halves(0.5, target.vcpus))
        memory = draw(_halves(0.5, target.memory_gib))
        gpus = draw(st.integers(0, target.gpu_count)) if target.gpu_count else 0
        gpu_type = target.gpu_type if gpus else ""
    else:
        vcpus = draw(st.sampled_from([0.5, 2.0, 4.0, 16.0, 20.0]))
        memory = draw(st.sampled_from([1.0, 8.0, 32.0]))
        gpus = draw(st.sampled_from([0, 0, 1, 2]))
        gpu_type = draw(st.sampled_from(GPU_TYPES)) if gpus else ""
    kind = draw(st.sampled_from(["generous", "tight", "generous", "anywhere", "impossible"]))
    deadline = draw(
        {
            "impossible": st.integers(now, now + runtime),
            "tight": st.integers(now + runtime_p, now + runtime_p + 3 * HOUR),
            "anywhere": st.integers(now, end + 4 * HOUR),
            "generous": st.integers(end + 10 * HOUR, end + 100 * HOUR),
        }[kind]
    )
    earliest = draw(
        st.sampled_from(["zero", "zero", "zero", "any", "slot", "slot"]).flatmap(
            lambda k: {
                "zero": st.just(0),
                "any": st.integers(now - HOUR, end + HOUR),
                "slot": st.integers(0, T).map(lambda t: now + t * slot_s),
            }[k]
        )
    )
    clouds = sorted({loc.split(":")[0] for loc in locations})
    regions = sorted({loc.split(":")[1] for loc in locations})
    data_location = draw(st.sampled_from(["", *locations, "aws:elsewhere"]))
    return Job(
        id="",
        vcpus=vcpus,
        memory_gib=memory,
        runtime_s=runtime,
        runtime_p_s=runtime_p,
        deadline=deadline,
        gpu_count=gpus,
        gpu_type=gpu_type,
        earliest_start=earliest,
        spot_allowed=draw(st.sampled_from([True, False])),
        restart_overhead_s=draw(st.sampled_from([0, 60, 300])),
        checkpoint_interval_s=draw(st.sampled_from([0, 600, 1800])),
        allowed_clouds=frozenset(
            draw(st.sets(st.sampled_from(clouds), max_size=2))
            if not draw(st.integers(0, 3))
            else ()
        ),
        allowed_regions=frozenset(
            draw(st.sets(st.sampled_from(regions))) if not draw(st.integers(0, 3)) else ()
        ),
        data_location=data_location,
        data_gb=draw(st.sampled_from([0.0, 0.5, 10.0, 250.0])) if data_location else 0.0,
        tenant=draw(st.sampled_from(TENANTS)),
    )


@st.composite
def _budget(draw: st.DrawFn, now: int, slot_s: int, T: int, tenants: list[str]) -> Budget:
    """A budget of one of the jobs' tenants, often over the whole horizon (so that two
    budgets of one tenant overlap), otherwise over a random window, not always
    aligned to slots."""
    if draw(st.booleans()):
        start, end = now, now + T * slot_s
    else:
        start = now + draw(st.integers(-1, T)) * slot_s + draw(st.sampled_from([0, 0, 1, -1]))
        end = start + draw(st.integers(1, T + 1)) * slot_s
    return Budget(
        tenant=draw(st.sampled_from(tenants)),
        limit_micros=draw(
            st.sampled_from(["some", "some", "tight", "zero"]).flatmap(
                lambda k: {
                    "zero": st.just(0),
                    "tight": st.integers(0, 3_000_000),
                    "some": st.integers(0, 50_000_000),
                }[k]
            )
        ),
        window_start=start,
        window_end=end,
    )


@st.composite
def problems(
    draw: st.DrawFn,
    *,
    min_jobs: int = 1,
    max_jobs: int = 8,
    min_offerings: int = 2,
    max_offerings: int = 6,
    long_price_curves: bool = True,
) -> Problem:
    """``long_price_curves``: price curves may run past the horizon (a job that runs
    past its end pays those prices)."""
    now = draw(st.sampled_from([0, 1_000_000, 1_700_000_123]))
    slot_s = draw(st.sampled_from([1800, 2400, 3600]))
    T = draw(st.integers(4, 8))
    clouds = ["aws", "gcp", "azure"][: draw(st.integers(1, 3))]
    locations = [f"{draw(st.sampled_from(clouds))}:r{k}" for k in range(draw(st.integers(1, 3)))]
    pools = draw(_pools(locations, T))
    n_off = draw(st.integers(min_offerings, max_offerings))
    price_slots = T + 3 if long_price_curves else T
    offerings = [draw(_offering(k, locations, T, price_slots)) for k in range(n_off)]
    templates = draw(
        st.lists(_template(now, slot_s, T, offerings, locations), min_size=1, max_size=4)
    )
    n_jobs = draw(st.integers(min_jobs, max_jobs))
    picks = [draw(st.integers(0, len(templates) - 1)) for _ in range(n_jobs)]
    jobs = tuple(replace(templates[p], id=f"j{k}") for k, p in enumerate(picks))
    tenants = sorted({j.tenant for j in jobs}) or list(TENANTS)
    budgets = draw(st.lists(_budget(now, slot_s, T, tenants), max_size=3))
    egress = draw(
        st.lists(
            st.builds(
                EgressPrice,
                st.sampled_from([*locations, "aws:elsewhere"]),
                st.sampled_from(locations),
                st.integers(0, 150).map(lambda v: v * 1000),
            ),
            max_size=2,
        )
    )
    return Problem(
        now=now,
        jobs=jobs,
        offerings=tuple(offerings),
        quota_pools=tuple(pools),
        budgets=tuple(budgets),
        egress=tuple(egress),
        egress_same_cloud_micros_per_gb=draw(st.sampled_from([0, 20_000])),
        egress_cross_cloud_micros_per_gb=draw(st.sampled_from([20_000, 90_000])),
        slot_s=slot_s,
        horizon_slots=T,
    )


def edge_problems() -> st.SearchStrategy[Problem]:
    """Degenerate corners -- no jobs, no offerings, every quota at zero, deadlines that
    nothing can meet -- besides the ordinary random problems."""

    def zero_quotas(p: Problem) -> Problem:
        pools = {pool for off in p.offerings for pool, _ in off.quota_draw}
        return replace(p, quota_pools=tuple(QuotaPool(q, 0.0) for q in sorted(pools)))

    def impossible(p: Problem) -> Problem:
        return replace(p, jobs=tuple(replace(j, deadline=p.now) for j in p.jobs))

    base = problems(min_jobs=0, min_offerings=0)
    return st.one_of(
        base,
        base.map(zero_quotas),
        base.map(impossible),
        base.map(lambda p: replace(p, offerings=())),
        base.map(lambda p: replace(p, jobs=())),
    )
