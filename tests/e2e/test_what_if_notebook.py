"""``notebooks/what_if.ipynb``, executed on a fresh kernel: a small sweep through the
simulator, plotted; its numbers match the sweep's own results file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "what_if.ipynb"


def test_the_what_if_notebook_runs_and_plots_every_variant(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    # One cell of the test's own, last: the kernel's interpreter and the run table.
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import sys\nprint(sys.prefix)\nprint(runs.to_json(orient='records'))"
        )
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env["SKYBATCH_WHATIF_JOBS"] = "30"
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(ROOT / "notebooks")}},
    )
    client.execute(env=env)
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        assert not [o for o in c.outputs if o.output_type == "error"], c.source
        assert not [o for o in c.outputs if o.get("name") == "stderr"], c.source
    prefix, table = nb.cells[-1].outputs[0].text.splitlines()[:2]
    assert prefix == sys.prefix
    runs = json.loads(table)
    points = {r["point"] for r in runs}
    assert points == {"baseline", "quota-halved", "preemptions-doubled", "load-2x"}
    assert all(r["jobs"] == 30 for r in runs)
    plots = next(c for c in nb.cells if "plots" in c.metadata.get("tags", []))
    assert any("image/png" in o.get("data", {}) for o in plots.outputs)
    # The baseline's relative cost is 1 by construction; the others are real numbers.
    summary = [o for o in plots.outputs if "text/html" in o.get("data", {})]
    assert summary, "the summary table is shown"
