"""Requests the fuzzer (tests/fuzz) found crashing handlers, kept as plain examples:
each gets INVALID_ARGUMENT naming the field, with a short message, from a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from scheduler.api.gen.skybatch.v1 import jobs_pb2, jobs_pb2_grpc, reports_pb2, reports_pb2_grpc
from scheduler.service import Service

#: Under the server's 4 MiB request limit, so the handler sees it.
HUGE = "x" * (3 * 1024 * 1024)


@pytest.fixture
def channel(api_service: Service) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(api_service.address) as ch:
        yield ch


def refused(call: Callable[[], Any], field: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        call()
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    details = str(info.value.details())
    assert details.startswith(field), details
    assert len(details) < 300


@pytest.mark.parametrize(
    "cursor", ["\u00b2", "9" * 5000, "9" * 19, "99999999999999999999", "-1", "n1"]
)
def test_watch_cursors_not_ours(channel: grpc.Channel, cursor: str) -> None:
    stub = jobs_pb2_grpc.JobServiceStub(channel)
    stream = stub.WatchJobs(jobs_pb2.WatchJobsRequest(cursor=cursor), timeout=10)
    refused(lambda: next(iter(stream)), "cursor")


def test_watch_job_ids_bounded(channel: grpc.Channel) -> None:
    stub = jobs_pb2_grpc.JobServiceStub(channel)
    many = stub.WatchJobs(jobs_pb2.WatchJobsRequest(job_ids=["j-1"] * 5000), timeout=10)
    refused(lambda: next(iter(many)), "job_ids")
    huge = stub.WatchJobs(jobs_pb2.WatchJobsRequest(job_ids=["j-1", "y" * 1000]), timeout=10)
    refused(lambda: next(iter(huge)), "job_ids[1]")


@pytest.mark.parametrize("token", ["n" + "9" * 5000, "n\u00b2", "n99999999999999999999"])
def test_list_page_tokens_not_ours(channel: grpc.Channel, token: str) -> None:
    stub = jobs_pb2_grpc.JobServiceStub(channel)
    refused(lambda: stub.ListJobs(jobs_pb2.ListJobsRequest(page_token=token)), "page_token")


def test_list_label_filters_bounded(channel: grpc.Channel) -> None:
    stub = jobs_pb2_grpc.JobServiceStub(channel)
    labels = {f"k{i}": "v" for i in range(2000)}
    refused(lambda: stub.ListJobs(jobs_pb2.ListJobsRequest(labels=labels)), "labels")
    ok = stub.ListJobs(jobs_pb2.ListJobsRequest(labels={f"k{i}": "v" for i in range(64)}))
    assert list(ok.jobs) == []


def test_job_ids_and_reasons_bounded(channel: grpc.Channel) -> None:
    stub = jobs_pb2_grpc.JobServiceStub(channel)
    refused(lambda: stub.GetJob(jobs_pb2.GetJobRequest(job_id=HUGE)), "job_id")
    refused(lambda: stub.ExplainJob(jobs_pb2.ExplainJobRequest(job_id=HUGE)), "job_id")
    refused(
        lambda: stub.CancelJob(jobs_pb2.CancelJobRequest(job_id="j-1", reason="r" * 5000)),
        "reason",
    )


@pytest.mark.parametrize(
    ("seconds", "nanos"), [(253_402_300_800, 0), (-(2**63), 0), (0, 1_000_000_000)]
)
def test_sla_report_timestamps_out_of_range(
    channel: grpc.Channel, seconds: int, nanos: int
) -> None:
    stub = reports_pb2_grpc.ReportServiceStub(channel)
    bad = Timestamp(seconds=seconds, nanos=nanos)
    refused(lambda: stub.SlaReport(reports_pb2.SlaReportRequest(from_time=bad)), "from_time")
    refused(lambda: stub.SlaReport(reports_pb2.SlaReportRequest(to_time=bad)), "to_time")
