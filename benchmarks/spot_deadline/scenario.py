"""The paper's evaluation grid, built from the traces in ``../shared/data``.

Single zone: a 48 h job; deadlines 52, 70, 92 h; restart overheads 0.02, 0.2, 0.4 h;
1x K80 (p2.xlarge, $0.90 on-demand / $0.3384 spot per hour) and 1x V100 (p3.2xlarge,
$3.06 / $0.9731) in us-west-2a and us-west-2b, on the 13-day availability traces of
2022-10-26 (``availability/1-node/aws-10-26-2022``, 10-minute ticks) -- the traces the
paper's simulator slices (``skypilot_spot_strategy_random_start`` holds five of its
slices, in the inverted encoding; :func:`check_slices` finds each one inside the full
trace once decoded).

Several zones: the nine zones of the 45-day V100 availability trace of 2023-02-15
(``availability/1-node/aws-02-15-2023``: us-east-1a/c/d/f, us-east-2a/b,
us-west-2a/b/c; 195-second ticks), every zone at the paper's p3.2xlarge prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from adapters.traces import Encoding, load_spot_trace, load_spot_traces
from adapters.traces.spot import same_gap
from benchmarks.spot_deadline.sim import Case, Setting, Zone
from solver.money import to_micros

SINGLE_DIR = Path("spot_traces/skypilot-spot-traces/availability/1-node/aws-10-26-2022")
MULTI_DIR = Path("spot_traces/skypilot-spot-traces/availability/1-node/aws-02-15-2023")
SLICES_DIR = Path("spot_traces/skypilot_spot_strategy_random_start")

JOB_HOURS = 48
DEADLINE_HOURS = (52, 70, 92)
OVERHEAD_HOURS = (Decimal("0.02"), Decimal("0.2"), Decimal("0.4"))
ZONES = ("us-west-2a", "us-west-2b")


@dataclass(frozen=True)
class Gpu:
    name: str
    instance_type: str
    od_per_hour: Decimal
    spot_per_hour: Decimal


GPUS = (
    Gpu("K80", "p2.xlarge", Decimal("0.90"), Decimal("0.3384")),
    Gpu("V100", "p3.2xlarge", Decimal("3.06"), Decimal("0.9731")),
)


def cases() -> list[Case]:
    return [
        Case(work_s=JOB_HOURS * 3600, deadline_s=dl * 3600, overhead_s=int(oh * 3600))
        for dl in DEADLINE_HOURS
        for oh in OVERHEAD_HOURS
    ]


def single_zone_settings(data_dir: Path) -> list[Setting]:
    out = []
    for gpu in GPUS:
        for zone in ZONES:
            path = data_dir / SINGLE_DIR / f"{zone}_{gpu.name.lower()}_1.json"
            trace = load_spot_trace(path, Encoding.AVAILABLE_COUNT)
            out.append(
                Setting(
                    name=f"{gpu.name} {zone}",
                    zones=(Zone(zone, trace.available),),
                    gap_s=trace.gap_s,
                    instance_type=gpu.instance_type,
                    gpu_type=gpu.name,
                    od_micros_per_hour=to_micros(gpu.od_per_hour),
                    spot_micros_per_hour=to_micros(gpu.spot_per_hour),
                )
            )
    return out


def multi_zone_setting(data_dir: Path) -> Setting:
    traces = load_spot_traces(data_dir / MULTI_DIR, Encoding.AVAILABLE_COUNT)
    gap = same_gap(traces)
    n = min(t.ticks for t in traces)
    gpu = GPUS[1]
    return Setting(
        name=f"{gpu.name} {len(traces)} zones",
        zones=tuple(Zone(t.name.split("_")[0], t.available[:n]) for t in traces),
        gap_s=gap,
        instance_type=gpu.instance_type,
        gpu_type=gpu.name,
        od_micros_per_hour=to_micros(gpu.od_per_hour),
        spot_micros_per_hour=to_micros(gpu.spot_per_hour),
    )


def check_slices(data_dir: Path) -> list[dict[str, object]]:
    """Each random-start slice (1 = preempted) decoded and found in the full trace
    (counts available): where, and the share of ticks that agree (1.0 expected)."""
    out: list[dict[str, object]] = []
    for d in sorted((data_dir / SLICES_DIR).iterdir()):
        full = load_spot_trace(data_dir / SINGLE_DIR / f"{d.name}.json", Encoding.AVAILABLE_COUNT)
        for s in load_spot_traces(d, Encoding.PREEMPTED_FLAG):
            a, f = s.available, full.available
            n = a.size
            if n > f.size:
                out.append({"slice": s.name, "offset": None, "agree": 0.0})
                continue
            windows = np.lib.stride_tricks.sliding_window_view(f, n)
            agree = (windows == a[None, :]).mean(axis=1)
            best = int(np.argmax(agree))
            out.append({"slice": s.name, "offset": best, "agree": float(agree[best])})
    return out
