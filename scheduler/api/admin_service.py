"""``skybatch.v1.AdminService``: billing ingest and cost models (tenants, tokens and
budgets: ``scheduler.api.admin_tenants``; quota caps: ``scheduler.api.admin_quotas``).

``IngestBilling`` spools the uploaded bytes to a file under the server's data dir,
then ingests it on a worker thread while the handler streams progress back. The
spool file is removed afterwards, whatever happened.
"""

from __future__ import annotations

import logging
import queue
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import grpc

from adapters.billing import BillingFileError
from scheduler.api import admin_convert
from scheduler.api.admin_quotas import QuotaAdmin, QuotaSources
from scheduler.api.admin_tenants import TenantAdmin
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.api.gen.skybatch.v1 import admin_pb2_grpc
from scheduler.api.status import streaming, unary
from scheduler.billing import ingest_file
from scheduler.control.costmodel import CostModelKeeper
from scheduler.costs import CostModelParams, diff
from scheduler.errors import InvalidArgument, NotFound
from scheduler.store import BillingStore, CostModelStore, TenantStore

log = logging.getLogger(__name__)

#: Largest billing file accepted over the API (a month of a big account's FOCUS export).
MAX_UPLOAD_BYTES = 8 * 1024**3


class AdminService(TenantAdmin, QuotaAdmin, admin_pb2_grpc.AdminServiceServicer):
    def __init__(
        self,
        billing: BillingStore,
        models: CostModelStore,
        keeper: CostModelKeeper,
        *,
        spool_dir: Path,
        clock: Callable[[], datetime],
        tenants: TenantStore | None = None,
        quotas: QuotaSources | None = None,
    ) -> None:
        self.tenants = tenants
        self.quotas = quotas
        self.billing = billing
        self.models = models
        self.keeper = keeper
        self.spool_dir = spool_dir
        self.clock = clock

    @streaming
    def IngestBilling(
        self, request_iterator: Iterator[pb.IngestBillingChunk], context: grpc.ServicerContext
    ) -> Iterator[pb.IngestBillingUpdate]:
        header, spool = _receive(request_iterator, self.spool_dir)
        try:
            yield from self._ingest(header, spool)
        finally:
            spool.unlink(missing_ok=True)

    def _ingest(
        self, header: pb.BillingFileHeader, spool: Path
    ) -> Iterator[pb.IngestBillingUpdate]:
        updates: queue.Queue[pb.IngestBillingUpdate | BaseException] = queue.Queue()

        def progress(done: int, total: int) -> None:
            updates.put(_progress("storing", done, total))

        def work() -> None:
            try:
                report = ingest_file(
                    self.billing,
                    spool,
                    now=self.clock(),
                    source=header.source or "api",
                    name=header.name,
                    progress=progress,
                )
                updates.put(pb.IngestBillingUpdate(report=admin_convert.report_to_pb(report)))
            except BaseException as exc:  # handed to the handler thread to map
                updates.put(exc)

        yield _progress("validating", 0, 0)
        worker = threading.Thread(target=work, name="billing-ingest", daemon=True)
        worker.start()
        try:
            while True:
                item = updates.get()
                if isinstance(item, BillingFileError):
                    raise InvalidArgument("file", str(item)) from item
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.HasField("report"):
                    self.keeper.billing_arrived()
                    return
        finally:
            # The spool file is removed once we return; let the ingest finish reading
            # it even when the client went away (it is idempotent, so finishing is safe).
            worker.join()

    @unary
    def GetCostModel(
        self, request: pb.GetCostModelRequest, context: grpc.ServicerContext
    ) -> pb.CostModel:
        version = self.models.get(request.version) if request.version else self.models.newest()
        if version is None:
            what = f"cost model version {request.version}" if request.version else "cost model"
            raise NotFound(f"no {what} yet (run `skybatch costmodel refit`)")
        return admin_convert.model_to_pb(version)

    @unary
    def ListCostModels(
        self, request: pb.ListCostModelsRequest, context: grpc.ServicerContext
    ) -> pb.ListCostModelsResponse:
        if request.limit < 0:
            raise InvalidArgument("limit", "must be >= 0")
        versions = self.models.versions(limit=request.limit or 50)
        return pb.ListCostModelsResponse(models=[admin_convert.model_to_pb(v) for v in versions])

    @unary
    def RefitCostModel(
        self, request: pb.RefitCostModelRequest, context: grpc.ServicerContext
    ) -> pb.CostModel:
        return admin_convert.model_to_pb(self.keeper.refit_now(trigger="manual"))

    @unary
    def DiffCostModels(
        self, request: pb.DiffCostModelsRequest, context: grpc.ServicerContext
    ) -> pb.DiffCostModelsResponse:
        old = self.models.get(request.from_version)
        new = self.models.get(request.to_version) if request.to_version else self.models.newest()
        if old is None:
            raise NotFound(f"no cost model version {request.from_version}")
        if new is None:
            raise NotFound(f"no cost model version {request.to_version or 'yet'}")
        changes = diff(CostModelParams.from_json(old.params), CostModelParams.from_json(new.params))
        return pb.DiffCostModelsResponse(
            from_version=old.version,
            to_version=new.version,
            changes=[
                pb.ParamChange(
                    key=f"{c.kind}/{c.key}",
                    old_value=c.old if c.old is not None else 0.0,
                    new_value=c.new if c.new is not None else 0.0,
                    added=c.old is None,
                    removed=c.new is None,
                )
                for c in changes
            ],
        )


def _progress(phase: str, done: int, total: int) -> pb.IngestBillingUpdate:
    return pb.IngestBillingUpdate(
        progress=pb.IngestBillingProgress(phase=phase, rows_done=done, rows_total=total)
    )


def _receive(
    chunks: Iterator[pb.IngestBillingChunk], spool_dir: Path
) -> tuple[pb.BillingFileHeader, Path]:
    """Write the upload to a spool file named like the original (its suffix tells CSV
    from Parquet); the header must come first and its size must match."""
    first = next(chunks, None)
    if first is None or not first.HasField("header"):
        raise InvalidArgument("header", "must come first")
    header = first.header
    if header.size_bytes < 0 or header.size_bytes > MAX_UPLOAD_BYTES:
        raise InvalidArgument("header.size_bytes", f"must be 0..{MAX_UPLOAD_BYTES}")
    suffix = "".join(Path(header.name).suffixes)[-16:]
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool_dir, prefix="upload-", suffix=suffix)
    path = Path(name)
    received = 0
    try:
        with open(fd, "wb") as f:
            for chunk in chunks:
                if chunk.HasField("header"):
                    raise InvalidArgument("header", "sent twice")
                received += len(chunk.data)
                if received > header.size_bytes:
                    raise InvalidArgument(
                        "data", f"more than the {header.size_bytes} bytes announced"
                    )
                f.write(chunk.data)
        if received != header.size_bytes:
            raise InvalidArgument(
                "data", f"received {received} bytes, the header announced {header.size_bytes}"
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return header, path
