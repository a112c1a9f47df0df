"""The simulator makes the decisions the live loop makes.

One small scenario runs twice: through the live service on the local cloud (real
worker processes running the checkpointing counter, the real clock) and through the
simulator (the same control loop on a virtual clock, the same offerings, quotas,
tick interval and scheduled preemption, simulated workers). Compared per job: the
offering each attempt ran on, in order (so also the number of attempts), and the final
state.

What is not compared, and why: times and money. The live run's timings carry process
start-up and a loaded machine's jitter (a worker reports in ~0.5-1.5 s after its node
boots; the simulator is told 1 s), so finish times and costs differ by seconds' worth.
The scenario is built so that no decision depends on timing finer than ~1 s: arrivals
are 1.5-2 s apart; the jobs that find their first-choice region full have a deadline
too close to wait for it, so they must go elsewhere at once; no job waits for quota
that a finishing job frees (that would race the reconciler, which terminates a finished
node in the same tick's last step, live and simulated alike); and the preempted spot
job has its region to itself, so its relaunch never meets its old node's quota.

Scenario (vCPU quota 4 per region = two e2-standard-2 nodes; on-demand is cheapest in
us-central1, then europe-west4, then asia-east1; spot in us-central1, asia-east1,
europe-west4):

====  =====  ========  =====================  ==========================================
job   at s   runs s    asks                   expected
====  =====  ========  =====================  ==========================================
A     0      16        on-demand              us-central1 on-demand
B     1.5    10        spot, asia-east1 only  asia-east1 spot; preempted 3 s after boot
                                              (the first spot launch), resumes there
C     3      10        on-demand, 45 s        us-central1 on-demand (now full)
D     5      10        on-demand, 45 s        europe-west4 on-demand (cannot wait)
E     10     6         spot, 45 s             asia-east1 spot (us-central1 full)
F     12     6         on-demand, 45 s        europe-west4 on-demand
====  =====  ========  =====================  ==========================================
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from adapters.local import PreemptionPolicy, ScheduledPreemption
from adapters.sim import PlannedPreemption, SpotSupply
from scheduler.api.client import SkybatchClient
from scheduler.control import ControlSettings
from scheduler.domain import JobSpec, JobState, Resources, utcnow
from scheduler.sim import SimConfig, SimJob, SimWorkload, simulate
from tests.conftest import ServiceFactory
from tests.e2e.helpers import counter_job, terminal, wait_for

STEP_S = 0.25
QUOTA = 4.0
CONTROL = ControlSettings(tick_interval_s=0.3, restart_overhead_s=2, heartbeat_timeout_s=10)
HEARTBEAT_S = 2.0
#: The local cloud preempts the first spot node this long after it boots; it boots
#: LAUNCH_S after the launch call; its worker reports in about WORKER_UP_S after that.
PREEMPT_AFTER_S = 3.0
GRACE_S = 3.0
LAUNCH_S = 0.1
WORKER_UP_S = 0.9


@dataclass(frozen=True)
class Arrival:
    name: str
    at_s: float
    steps: int
    spot: bool = False
    deadline_s: float = 600.0
    regions: tuple[str, ...] = ()


SCENARIO = (
    Arrival("A", 0.0, 64),
    Arrival("B", 1.5, 40, spot=True, regions=("asia-east1",)),
    Arrival("C", 3.0, 40, deadline_s=45),
    Arrival("D", 5.0, 40, deadline_s=45),
    Arrival("E", 10.0, 24, spot=True, deadline_s=45),
    Arrival("F", 12.0, 24, deadline_s=45),
)

EXPECTED = {
    "A": (("local/us-central1/us-central1-a/e2-standard-2/on-demand",), JobState.SUCCEEDED),
    "B": (
        (
            "local/asia-east1/asia-east1-a/e2-standard-2/spot",
            "local/asia-east1/asia-east1-a/e2-standard-2/spot",
        ),
        JobState.SUCCEEDED,
    ),
    "C": (("local/us-central1/us-central1-a/e2-standard-2/on-demand",), JobState.SUCCEEDED),
    "D": (("local/europe-west4/europe-west4-a/e2-standard-2/on-demand",), JobState.SUCCEEDED),
    "E": (("local/asia-east1/asia-east1-a/e2-standard-2/spot",), JobState.SUCCEEDED),
    "F": (("local/europe-west4/europe-west4-a/e2-standard-2/on-demand",), JobState.SUCCEEDED),
}

Decisions = dict[str, tuple[tuple[str, ...], JobState]]


def test_simulated_loop_decides_as_the_live_loop(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    svc = service_factory(
        data_dir=tmp_path / "live",
        control=CONTROL,
        heartbeat_interval=timedelta(seconds=HEARTBEAT_S),
        local_vcpu_quota=QUOTA,
        local_launch_delay_s=LAUNCH_S,
        preemption=PreemptionPolicy(
            grace_s=GRACE_S,
            schedule=(ScheduledPreemption(nth_spot_launch=1, after_s=PREEMPT_AFTER_S),),
        ),
        local_bill_interval_s=0.0,
        refit_interval_s=0.0,
    )
    offerings = tuple(svc.catalog.offerings())
    quotas = tuple(svc.catalog.quotas())
    live = run_live(svc.address)

    config = SimConfig(
        offerings=offerings,
        quotas=quotas,
        # The truth the local cloud acts on: no random preemption, the first spot node
        # preempted PREEMPT_AFTER_S after boot, that is after_s after its worker is up.
        spot={"*": SpotSupply(hazard_per_hour=0.0)},
        preemption_schedule=(PlannedPreemption(1, PREEMPT_AFTER_S + LAUNCH_S - WORKER_UP_S),),
        notice_s=GRACE_S,
        launch_delays={"*": WORKER_UP_S},
        tick_s=CONTROL.tick_interval_s,
        wait_tick_s=1.0,
        solver_time_limit_s=CONTROL.solver_time_limit_s,
        control=CONTROL,
        heartbeat_interval_s=HEARTBEAT_S,
        resume_overhead_s=0.3,
    )
    result = simulate(config, workload(), tmp_path / "sim")
    simulated: Decisions = result.decisions()

    assert simulated == EXPECTED, "the simulator's decisions changed"
    assert live == simulated, "live and simulated loops decided differently"


def workload() -> SimWorkload:
    jobs = []
    for a in SCENARIO:
        spec = spec_of(a)
        jobs.append(
            SimJob(
                key=a.name,
                arrival_s=a.at_s,
                # The counter's steps, its ~5 ms of hashing each, interpreter start-up.
                runtime_s=a.steps * (STEP_S + 0.005) + 0.4,
                estimate_s=spec.estimated_runtime.total_seconds(),
                deadline_s=a.at_s + a.deadline_s,
                resources=Resources(vcpus=1, memory_gib=2),
                spot_allowed=a.spot,
                checkpoint_interval_s=spec.checkpoint_interval.total_seconds(),
                allowed_regions=a.regions,
            )
        )
    return SimWorkload(tuple(jobs))


def spec_of(a: Arrival) -> JobSpec:
    return counter_job(
        a.name,
        a.steps,
        STEP_S,
        spot_allowed=a.spot,
        allowed_regions=a.regions,
        deadline=utcnow() + timedelta(seconds=a.deadline_s),
    )


def run_live(address: str) -> Decisions:
    ids: dict[str, str] = {}
    with SkybatchClient(address) as c:
        c.wait_ready()
        t0 = time.monotonic()
        for a in SCENARIO:
            time.sleep(max(0.0, t0 + a.at_s - time.monotonic()))
            [(job, _)] = c.submit([spec_of(a)])
            ids[a.name] = job.id
        out: Decisions = {}
        for name, job_id in ids.items():
            done = wait_for(c, job_id, terminal, timeout_s=120)
            out[name] = (tuple(att.placement.offering_id for att in done.attempts), done.state)
    return out
