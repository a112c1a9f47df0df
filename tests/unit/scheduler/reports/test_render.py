"""The report's HTML page and CSV tables: self-contained, well-formed, escaped."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from scheduler.reports import SlaReport, sla_report
from scheduler.reports.csv import GROUP_COLUMNS, MISS_COLUMNS, groups_csv, misses_csv
from scheduler.reports.html import render
from scheduler.reports.svg import nice_ceiling
from tests.unit.scheduler.reports.frames import HOUR, T0, Frames
from tests.unit.scheduler.reports.pagecheck import SVG_NS, check_page

EVIL_TENANT = "<script>alert('t')</script>"
EVIL_LABEL = 'a&b"c<'
EVIL_NAME = "<img src=x onerror=alert(1)>"
EVIL_DETAIL = "</td></tr><script src=http://evil.example/x.js></script>"


def report_with_everything() -> SlaReport:
    f = Frames()
    for i in range(4):
        f.job(f"ok{i}", tenant="acme", labels={"team": "ml"})
        f.attempt(f"ok{i}", market="spot" if i % 2 else "on-demand", start=T0 + i * HOUR)
    f.job(
        "evil",
        tenant=EVIL_TENANT,
        name=EVIL_NAME,
        state="FAILED",
        labels={"team": EVIL_LABEL},
        final_detail=EVIL_DETAIL,
    )
    f.attempt("evil", market="spot", preempted=True, progress=0.4)
    for i in range(3):
        f.job(f"late{i}", tenant="=cmd|' /C calc'!A0", finished=T0 + 3 * HOUR + i * HOUR)
        f.attempt(f"late{i}", start=T0 + 2 * HOUR, minutes=60 + 60 * i)
    return sla_report(f.inputs(), label_key="team")


def test_page_is_self_contained_well_formed_and_escapes_user_strings() -> None:
    html = render(report_with_everything())
    page = check_page(html)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in html
    assert "a&amp;b&quot;c&lt;" in html
    # The page's text (what a browser shows) has the user strings verbatim.
    assert EVIL_TENANT in page.text and EVIL_NAME in page.text and EVIL_DETAIL in page.text
    # Attainment and cost per tenant and per label, lateness, cost over time.
    assert len(page.svgs) == 6
    titles = [svg.find(f"{SVG_NS}title") for svg in page.svgs]
    assert [t.text for t in titles if t is not None] == [
        "Deadline attainment by tenant",
        "Cost by tenant: spot and on-demand",
        "Deadline attainment by team",
        "Cost by team: spot and on-demand",
        "Late jobs by lateness (from)",
        "Cost over time (per 5 minutes, by when attempts ended)",
    ]
    # Every tenant is a bar; the evil one's label is text, not markup.
    bars = page.svgs[0]
    labels = ["".join(t.itertext()) for t in bars.iter(f"{SVG_NS}text")]
    assert any(EVIL_TENANT[:10] in label for label in labels)


def test_empty_report_renders_with_placeholders() -> None:
    html = render(sla_report(Frames().inputs()))
    page = check_page(html)
    assert "No job failed or finished late." in page.text
    assert "no data" in page.text


def test_groups_csv_has_a_row_per_group_with_exact_numbers() -> None:
    report = report_with_everything()
    rows = list(csv.DictReader(io.StringIO(groups_csv(report))))
    assert tuple(rows[0]) == GROUP_COLUMNS
    assert [(r["dimension"], r["group"]) for r in rows] == [
        (g.dimension, g.group if not g.group.startswith("=") else "'" + g.group)
        for g in report.groups
    ]
    for r, g in zip(rows, report.groups, strict=True):
        assert Decimal(r["cost"]) == g.cost
        assert r["attainment_pct"] == ("" if g.attainment_pct is None else str(g.attainment_pct))
        assert r["lateness_p95_s"] == (str(g.lateness.p95_s) if g.lateness else "")
        assert int(r["jobs"]) == g.jobs


def test_csv_defuses_formulas_in_user_strings() -> None:
    text = groups_csv(report_with_everything())
    assert "\n=cmd" not in text and ",=cmd" not in text
    assert ",'=cmd|' /C calc'!A0," in text.replace('"', "")


def test_misses_csv_lists_the_worst_in_order() -> None:
    report = report_with_everything()
    rows = list(csv.DictReader(io.StringIO(misses_csv(report))))
    assert tuple(rows[0]) == MISS_COLUMNS
    assert [r["job_id"] for r in rows] == [m.job_id for m in report.worst_misses]
    assert rows[0]["job_id"] == "evil" and rows[0]["lateness_s"] == ""
    assert rows[0]["reason"] == f"command exited with 3 ({EVIL_DETAIL})"
    assert rows[1]["lateness_s"] == str(report.worst_misses[1].lateness_s)
    assert rows[1]["deadline"] == "2026-03-01T14:00:00Z"


def test_nice_ceiling() -> None:
    assert [nice_ceiling(x) for x in (0, 0.7, 1, 1.2, 2.2, 3, 7, 99, 101)] == [
        1.0, 1.0, 1.0, 2.0, 2.5, 5.0, 10.0, 100.0, 200.0,
    ]  # fmt: skip
    assert nice_ceiling(0.0003) == 0.0005
    assert nice_ceiling(timedelta(hours=1).total_seconds()) == 5000.0
