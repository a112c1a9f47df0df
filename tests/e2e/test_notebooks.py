"""``notebooks/cost_analysis.ipynb``, executed on a fresh kernel of this interpreter
against a store a short local run filled (and against no store at all), so that it
cannot rot. What it prints is checked against the store, computed another way."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat import NotebookNode

from adapters.local import build_catalog
from solver.money import to_micros
from tests.support.short_run import ShortRun, short_run  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "cost_analysis.ipynb"

#: The notebook's sections (cell tags), each printing or drawing something.
SECTIONS = ("load", "spend", "market", "savings", "billing", "accuracy", "ratios", "costliest")


def execute(db_url: str, workdir: Path) -> NotebookNode:
    """Run the notebook on a new ``python3`` kernel with ``SKYBATCH_DB_URL`` set; a cell
    that raises fails the test (nbclient raises ``CellExecutionError``). A last cell,
    added here only, reports the kernel's interpreter."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)"))
    env = dict(os.environ)
    env["SKYBATCH_DB_URL"] = db_url
    # This checkout first, whichever checkout the venv was installed from.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    client = NotebookClient(
        nb, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute(env=env)
    return nb


def cell(nb: NotebookNode, tag: str) -> NotebookNode:
    [found] = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    return found


def stdout(c: NotebookNode) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def images(nb: NotebookNode) -> int:
    return sum(
        "image/png" in o.get("data", {})
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


def check_clean(nb: NotebookNode) -> None:
    """Every cell ran, none wrote to stderr (no warning), and the kernel was this venv's."""
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        assert c.execution_count is not None
        errors = [o for o in c.outputs if o.output_type == "error"]
        stderr = [o.text for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
        assert not errors and not stderr, (c.source[:80], errors, stderr)
    assert stdout(nb.cells[-1]).strip() == sys.prefix


def recompute_savings(db_path: Path) -> tuple[Decimal, int, int]:
    """Savings against all on demand, straight from the attempts table: spot attempts
    re-priced at the on-demand price of the same type and region (an on-demand attempt's
    launch price, else the local catalog's), rounded half to even to a micro-dollar.
    Returns (savings, spot attempts priced from attempts, from the catalog)."""
    with sqlite3.connect(db_path) as con:
        rows = con.execute(
            "SELECT cloud, region, instance_type, market, price_micros_per_hour, cost_micros"
            " FROM attempts"
        ).fetchall()
    launched: dict[tuple[str, str, str], set[int]] = {}
    for cloud, region, itype, market, price, _ in rows:
        if market == "on-demand":
            launched.setdefault((cloud, region, itype), set()).add(price)
    catalog = {("local", t.region, t.name): to_micros(t.on_demand_price) for t in build_catalog()}
    saved, from_attempts, from_catalog = 0, 0, 0
    for cloud, region, itype, market, price, cost in rows:
        if market != "spot":
            continue
        key = (cloud, region, itype)
        if key in launched:
            [od] = launched[key]  # one list price per offering in a short run
            from_attempts += 1
        else:
            od = catalog[key]
            from_catalog += 1
        saved += round(Fraction(cost * od, price)) - cost  # round(): half to even
    return Decimal(saved) / 1_000_000, from_attempts, from_catalog


def dollars_after(label: str, text: str) -> Decimal:
    match = re.search(rf"{re.escape(label)}\s*\$(-?[0-9.]+)", text)
    assert match is not None, (label, text)
    return Decimal(match.group(1))


def test_notebook_on_a_short_run_store(short_run: ShortRun, tmp_path: Path) -> None:  # noqa: F811
    nb = execute(short_run.db_url, tmp_path)
    check_clean(nb)
    for tag in SECTIONS:
        assert "no data yet" not in stdout(cell(nb, tag)), tag
    assert images(nb) >= 6

    loaded = stdout(cell(nb, "load"))
    assert f"{sum(len(ids) for ids in short_run.jobs.values())} jobs" in loaded

    # The counterfactual, against an independent recomputation from the store.
    savings_text = stdout(cell(nb, "savings"))
    db_path = Path(short_run.db_url.removeprefix("sqlite:///"))
    expected, from_attempts, from_catalog = recompute_savings(db_path)
    assert from_attempts > 0 and from_catalog > 0, "the run priced spot both ways"
    assert dollars_after("Saved", savings_text) == expected > 0
    assert (
        f"{from_attempts} priced from on-demand attempts, {from_catalog} from the catalog"
        in savings_text
    )

    # The whole bill, every line matched (to the last digit), and the hidden discount.
    billing_text = stdout(cell(nb, "billing"))
    with sqlite3.connect(db_path) as con:
        billed = [Decimal(c) for (c,) in con.execute("SELECT billed_cost FROM billing_lines")]
    assert f"{len(billed)} billed lines, {len(billed)} matched to attempts" in billing_text
    assert dollars_after("billed", billing_text) == sum(billed) > 0
    assert "effective/list on the bill: 0." in billing_text
    accuracy = cell(nb, "accuracy")
    assert any("image/png" in o.get("data", {}) for o in accuracy.outputs), "MAPE was plotted"

    # The job made expensive tops the costliest jobs.
    costliest = stdout(cell(nb, "costliest"))
    assert f"Costliest job: {short_run.expensive_job_id} (a-big, tenant team-a)" in costliest


def test_notebook_before_any_bill_or_cost_model(short_run: ShortRun, tmp_path: Path) -> None:  # noqa: F811
    """Jobs ran, but no bill arrived and nothing was fitted yet."""
    db = tmp_path / "early.db"
    with (
        sqlite3.connect(short_run.db_url.removeprefix("sqlite:///")) as src,
        sqlite3.connect(db) as dst,
    ):
        src.backup(dst)
        for table in ("billing_lines", "billing_files", "cost_models"):
            dst.execute(f"DELETE FROM {table}")
    nb = execute(f"sqlite:///{db}", tmp_path)
    check_clean(nb)
    for tag in ("spend", "market", "savings", "costliest"):
        assert "no data yet" not in stdout(cell(nb, tag)), tag
    for tag in ("billing", "accuracy", "ratios"):
        assert "no data yet" in stdout(cell(nb, tag)), tag
    assert "0 billed lines" in stdout(cell(nb, "load"))


def test_notebook_on_a_missing_store(tmp_path: Path) -> None:
    db = tmp_path / "none" / "skybatch.db"
    nb = execute(f"sqlite:///{db}", tmp_path)
    check_clean(nb)
    assert "no store there yet" in stdout(cell(nb, "load"))
    for tag in SECTIONS[2:]:
        assert "no data yet" in stdout(cell(nb, tag)), tag
    assert not db.parent.exists(), "reading a store that is not there does not create it"


def test_notebook_is_saved_without_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)
    tags = Counter(t for c in nb.cells for t in c.get("metadata", {}).get("tags", []))
    assert all(tags[t] == 1 for t in SECTIONS), tags
