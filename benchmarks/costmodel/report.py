"""The cost-model benchmark's tables, from its results document (rich or Markdown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.costmodel.evaluate import placements

#: (title, header, rows) of one table, as text cells.
TableData = tuple[str, list[str], list[list[str]]]

#: The models compared (and the oracle plan), in table order.
CATALOG, V1, V1_UNSCALED, TRUTH = "catalog (v0)", "v1", "v1 (unscaled priors)", "truth"
MODELS = (CATALOG, V1, V1_UNSCALED)


def _money(x: float | None) -> str:
    return "-" if x is None else f"${x:.6f}"


def _pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "-"
    return f"{x:+.2%}" if signed else f"{x:.2%}"


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "-" if x is None else format(x, fmt)


def _periods(doc: Mapping[str, Any]) -> TableData:
    rows = []
    for p in doc["periods"]:
        r = p["refit"]
        rows.append(
            [
                str(p["period"]),
                str(p["jobs"]),
                f"{p['succeeded']} / {p['failed']}",
                str(p["attempts"]),
                str(p["preemptions"]),
                f"v{p['planned_with']}",
                f"{p['wall_s']:.0f}",
                f"{p['billed_hours'] * 60:.1f}",
                _money(p["billed_cost"]),
                _money(p["list_cost"]),
                "-" if r is None else f"v{r['version']} ({r['trigger']})",
            ]
        )
    header = [
        "period",
        "jobs",
        "succeeded / failed",
        "attempts",
        "preempted",
        "planned with",
        "wall s",
        "billed node-min",
        "billed (true) cost",
        "at list price",
        "bill -> refit",
    ]
    return "Live periods (real jobs on the local cloud)", header, rows


def _placements(doc: Mapping[str, Any]) -> TableData:
    p1, p2 = doc["periods"][0]["placements"], doc["periods"][1]["placements"]
    rows = [[c, p1.get(c, "-"), p2.get(c, "-")] for c in sorted(set(p1) | set(p2))]
    return (
        "Where the live planner put each class (first attempts)",
        ["class", "period 1 (catalog)", "period 2 (v1)"],
        rows,
    )


def _prices(doc: Mapping[str, Any]) -> TableData:
    rows = [
        [
            p["level"],
            p["key"],
            f"{p['hours'] * 60:.1f}",
            _num(p["observed"]),
            _num(p["truth"], ".2f"),
            _num(p[V1]),
            _num(p[V1_UNSCALED]),
        ]
        for p in doc["learned"]["prices"]
    ]
    header = ["level", "key", "billed node-min", "observed", "truth", "v1", "v1 (unscaled priors)"]
    return "Price ratios learned from period 1's bill (effective / list)", header, rows


def _hazards(doc: Mapping[str, Any]) -> TableData:
    rows = [
        [
            h["key"],
            str(h["events"]),
            f"{h['exposure_hours'] * 60:.1f}",
            f"{h['prior']:.1f}",
            f"{h['truth']:.1f}",
            f"{h[V1]:.1f}",
            _num(h[V1_UNSCALED], ".1f"),
        ]
        for h in doc["learned"]["hazards"]
    ]
    header = [
        "cloud/region/family",
        "preemptions",
        "spot node-min",
        "catalog prior /h",
        "truth /h",
        "v1 /h",
        "v1 (unscaled priors) /h",
    ]
    return "Spot hazards learned from period 1 (per wall-clock node-hour)", header, rows


def _delays(doc: Mapping[str, Any]) -> TableData:
    rows = [
        [
            d["key"],
            str(d["n"]),
            f"{d['median_s']:.2f}",
            f"{d['prior_s']:.2f}",
            f"{d[V1]:.2f}",
            _num(d[V1_UNSCALED], ".2f"),
        ]
        for d in doc["learned"]["launch_delays"]
    ]
    header = ["cloud/region", "launches", "median s", "catalog s", "v1 s", "v1 (unscaled) s"]
    return "Launch delays learned from period 1 (request to running worker)", header, rows


def _err_row(name: str, e: Mapping[str, Any]) -> list[str]:
    return [
        name,
        str(e.get("n", e.get("attempts", 0))),
        _money(e.get("billed")),
        _money(e.get("predicted")),
        _pct(e.get("mape")),
        _pct(e.get("bias"), signed=True),
        _pct(e.get("total_error"), signed=True),
    ]


def _holdout_rows(doc: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for p in doc["periods"]:
        r = p["refit"]
        cost = (r or {}).get("accuracy", {}).get("cost")
        if not cost:
            continue
        hold = r["accuracy"].get("holdout", {})
        what = (
            f"v{r['version']}'s own holdout ({hold.get('holdout_attempts', '?')} newest attempts)"
        )
        for side, label in (("catalog", "catalog"), ("fitted", "fitted")):
            e = cost[side]
            rows.append(
                [
                    f"{what}: {label}",
                    str(cost["attempts"]),
                    _money(cost["billed_micros"] / 1e6),
                    _money(e["predicted_micros"] / 1e6),
                    _pct(e["mape"]),
                    _pct(e["bias"], signed=True),
                    _pct(e["total_error"], signed=True),
                ]
            )
    return rows


def _prediction(doc: Mapping[str, Any]) -> TableData:
    price = doc["prediction"]["price"]
    rows = [_err_row(m, price[m]) for m in MODELS]
    rows += _holdout_rows(doc)
    header = ["model", "attempts", "billed", "predicted", "MAPE", "bias", "total error"]
    return "Price prediction on period 2 (each billed attempt: $/h x billed hours)", header, rows


def _groups(doc: Mapping[str, Any]) -> TableData:
    rows = []
    for g in doc["prediction"]["price_by_group"]:
        err = g["errors"]
        rows.append(
            [
                g["group"],
                str(g["attempts"]),
                _money(g["billed"]),
                f"{g['true_ratio']:.2f}",
                _num(g["ratio"][V1]),
                _pct(err[CATALOG]["mape"]),
                _pct(err[V1]["mape"]),
                _pct(err[V1_UNSCALED]["mape"]),
            ]
        )
    header = [
        "region/family/market",
        "attempts",
        "billed",
        "true ratio",
        "v1 ratio",
        "MAPE catalog",
        "MAPE v1",
        "MAPE v1 (unscaled)",
    ]
    return "Period-2 price error by offering group", header, rows


def _preemptions(doc: Mapping[str, Any]) -> TableData:
    rows = []
    for region, r in doc["prediction"]["preemptions"].items():
        exp = r["expected"]
        rows.append(
            [
                region,
                str(r["attempts"]),
                f"{r['exposure_hours'] * 60:.1f}",
                str(r["observed"]),
                f"{exp['truth']:.2f}",
                f"{exp[CATALOG]:.2f}",
                f"{exp[V1]:.2f}",
                f"{exp[V1_UNSCALED]:.2f}",
            ]
        )
    header = [
        "region",
        "spot attempts",
        "spot node-min",
        "observed",
        "expected: truth",
        "catalog",
        "v1",
        "v1 (unscaled)",
    ]
    return "Period-2 preemptions: observed vs expected", header, rows


def _jobs(doc: Mapping[str, Any]) -> TableData:
    jc = doc["prediction"]["job_cost"]
    rows = [_err_row(m, jc[m]) for m in MODELS]
    header = ["model", "jobs", "billed", "predicted", "MAPE", "bias", "total error"]
    return (
        "Period-2 job cost (secondary): solver's expected cost x runtime p50 vs billed",
        header,
        rows,
    )


def _plans(doc: Mapping[str, Any]) -> TableData:
    rows = []
    for name in (*MODELS, TRUTH):
        p = doc["plans"][name]
        rows.append(
            [
                "truth (oracle)" if name == TRUTH else name,
                _money(p["believed_cost"]),
                _money(p["true_cost"]),
                _pct(p["saving_vs_catalog"], signed=True),
                str(p["moved"]),
                f"{p['placed']} / {p['unplaced']}",
                f"{p['solve_s']:.2f}",
            ]
        )
    header = [
        "plan priced with",
        "believed cost",
        "true expected cost",
        "saved vs catalog plan",
        "jobs moved",
        "placed / unplaced",
        "solve s",
    ]
    return "Period 2's jobs planned in one tick, each plan priced at the truth", header, rows


def _plan_classes(doc: Mapping[str, Any]) -> TableData:
    v0, v1 = doc["plans"][CATALOG]["by_class"], doc["plans"][V1]["by_class"]
    rows = []
    for cls in sorted(v0):
        a, b = v0[cls], v1.get(cls, {"true_cost": 0.0, "placements": {}})
        saving = 1 - b["true_cost"] / a["true_cost"] if a["true_cost"] else None
        rows.append(
            [
                cls,
                str(a["jobs"]),
                placements(_expand(a["placements"])),
                placements(_expand(b["placements"])),
                _money(a["true_cost"]),
                _money(b["true_cost"]),
                _pct(saving, signed=True),
            ]
        )
    header = ["class", "jobs", "catalog plan", "v1 plan", "true cost", "true cost v1", "saved"]
    return "Where the catalog's and v1's plans differ, by class", header, rows


def _expand(counts: Mapping[str, int]) -> list[str]:
    return [oid for oid, n in counts.items() for _ in range(n)]


def tables(doc: Mapping[str, Any]) -> list[TableData]:
    return [
        _periods(doc),
        _placements(doc),
        _prices(doc),
        _hazards(doc),
        _delays(doc),
        _prediction(doc),
        _groups(doc),
        _preemptions(doc),
        _jobs(doc),
        _plans(doc),
        _plan_classes(doc),
    ]


def print_tables(doc: Mapping[str, Any], markdown: bool) -> None:
    console = Console(width=200)
    for title, header, body in tables(doc):
        if markdown:
            print(f"\n**{title}**\n")
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
            for line in body:
                print("| " + " | ".join(line) + " |")
            continue
        table = Table(title=title)
        for i, h in enumerate(header):
            table.add_column(h, justify="left" if i == 0 else "right")
        for line in body:
            table.add_row(*line)
        console.print(table)


def print_targets(targets: Sequence[Mapping[str, Any]], markdown: bool) -> None:
    if markdown:
        print("\n| target | measured | |\n|---|---|---|")
    for t in targets:
        verdict = "PASS" if t["pass"] else "MISS"
        if markdown:
            print(f"| {t['target']} | {t['measured']} | {verdict} |")
        else:
            print(f"{verdict}  {t['target']}: {t['measured']}")
