"""Structured logs: a real ``skybatch serve --log-format json`` runs a job; every line
on stderr is one JSON object, and the launch line carries the job's and attempt's ids."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from libcloud.compute.types import NodeState

from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.domain import JobState
from scheduler.logging_setup import JsonFormatter, configure_logging, log_fields
from tests.e2e.helpers import counter_job, terminal, wait_for
from tests.support.serve_process import start_serve


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalNodeDriver]:
    """The served local cloud, to destroy whatever is left at teardown."""
    d = LocalNodeDriver(LocalCloudConfig(state_dir=tmp_path / "local-cloud"))
    yield d
    for node in d.list_nodes():
        if node.state != NodeState.TERMINATED:
            d.destroy_node(node)


def test_serve_json_logs_carry_job_and_attempt_ids(tmp_path: Path, driver: LocalNodeDriver) -> None:
    serve = start_serve(tmp_path, "--tick", "0.3", "--log-format", "json")
    proc, err_path = serve.proc, serve.err_path
    try:
        with SkybatchClient(serve.address) as c:
            c.wait_ready()
            [(job, _)] = c.submit([counter_job("logged", 3, 0.1)])
            done = wait_for(c, job.id, terminal, timeout_s=60)
        assert done.state is JobState.SUCCEEDED
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert proc.stdout is not None
        proc.stdout.close()

    lines = [json.loads(text) for text in err_path.read_text().splitlines() if text.strip()]
    assert lines, "no log lines"
    for doc in lines:
        assert {"time", "level", "logger", "message"} <= doc.keys(), doc
        assert datetime.fromisoformat(doc["time"]).utcoffset() is not None
    attempt = done.attempts[-1]
    launches = [d for d in lines if d["logger"] == "scheduler.control.launcher"]
    launched = [d for d in launches if "launched" in d["message"]]
    assert len(launched) == 1, launches
    assert launched[0]["job_id"] == job.id
    assert launched[0]["attempt_id"] == attempt.id
    assert launched[0]["tenant"] == "default"
    assert (launched[0]["cloud"], launched[0]["region"]) == ("local", attempt.placement.region)
    assert launched[0]["node_id"] == attempt.node_id
    # The worker's side of the same attempt, logged by the worker service.
    finished = [d for d in lines if "finished" in d["message"] and d.get("job_id") == job.id]
    assert [d["attempt_id"] for d in finished] == [attempt.id]


def test_json_lines_carry_context_fields_and_exceptions() -> None:
    out = io.StringIO()
    logger = logging.getLogger("tests.logs.json")
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("plain %s", "text")
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("failed", extra=log_fields(job_id="j-1", attempt_id="", cloud="aws"))
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(text) for text in out.getvalue().splitlines())
    assert first["message"] == "plain text" and first["level"] == "WARNING"
    assert "job_id" not in first
    assert second["job_id"] == "j-1" and second["cloud"] == "aws"
    assert "attempt_id" not in second  # empty fields are left out
    assert "ValueError: boom" in second["exception"]


def test_log_fields_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="jobid"):
        log_fields(jobid="j-1")


def test_configure_logging_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="xml"):
        configure_logging("xml")


def test_serve_refuses_an_unknown_log_format(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "scheduler", "serve", "--log-format", "xml"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "SKYBATCH_DATA_DIR": str(tmp_path)},
    )
    assert run.returncode == 2
    assert "--log-format" in run.stderr
