"""Load a whole catalog: offerings from every price list, the egress table, the reports.

``load_catalog(Path("/data"))`` reads the shared data directory's files;
``load_catalog(None)`` only what ships with installed packages (AWS on-demand from
libcloud). ``clouds``, ``regions`` and ``instance_filter`` pick a subset before prices
are parsed, so a benchmark can load a slice cheaply. The result is plain data: nothing
is cached and nothing global is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from adapters.base import Offering
from adapters.catalog.aws import CLOUD as AWS
from adapters.catalog.aws import load_aws
from adapters.catalog.egress import EgressTable, load_egress
from adapters.catalog.report import LoadReport
from adapters.catalog.skypilot_csv import load_skypilot_csv
from adapters.catalog.sources import CatalogError, CatalogSources

#: Keeps an instance type (by name) when it returns True.
InstanceFilter = Callable[[str], bool]


@dataclass(frozen=True)
class Catalog:
    """Offerings (ids unique), egress prices, and one report per source read.

    ``reports`` keys: a cloud name per price list (``gcp``, ``azure``, ``lambda``,
    ``aws``), ``aws-spot`` for the spot advisor, ``egress`` for the egress table.
    """

    offerings: tuple[Offering, ...]
    egress: EgressTable = field(default_factory=EgressTable)
    reports: Mapping[str, LoadReport] = field(default_factory=dict)


def _region_filter(cloud: str, regions: Collection[str] | None) -> Callable[[str], bool]:
    """``regions`` entries are ``region`` (any cloud) or ``cloud:region`` (that cloud)."""
    if regions is None:
        return lambda _: True
    allowed = set()
    for entry in regions:
        prefix, sep, region = entry.partition(":")
        if not sep:
            allowed.add(entry)
        elif prefix == cloud:
            allowed.add(region)
    return allowed.__contains__


def load_catalog(
    sources: CatalogSources | Path | None = None,
    *,
    clouds: Collection[str] | None = None,
    regions: Collection[str] | None = None,
    instance_filter: InstanceFilter | None = None,
) -> Catalog:
    """Offerings of ``clouds`` (default: every cloud the sources cover) in ``regions``
    (default: all) whose instance type ``instance_filter`` keeps (default: all).

    ``sources`` is a :class:`CatalogSources`, a data directory laid out like the
    project's shared data (see :meth:`CatalogSources.from_data_dir`), or None for the
    bundled sources only. Raises :class:`CatalogError` when a requested cloud has no
    source, two sources claim one cloud, or a file is unreadable or lacks columns; bad
    rows never raise (see the reports).
    """
    if sources is None:
        sources = CatalogSources.bundled()
    elif isinstance(sources, Path):
        sources = CatalogSources.from_data_dir(sources)
    claimed = [c.cloud for c in sources.csvs] + ([AWS] if sources.aws is not None else [])
    if len(claimed) != len(set(claimed)):
        raise CatalogError(f"more than one source for a cloud: {sorted(claimed)}")
    wanted = sources.clouds if clouds is None else frozenset(clouds)
    if missing := wanted - sources.clouds:
        raise CatalogError(f"no price list for {', '.join(sorted(missing))}")
    keep_type = instance_filter or (lambda _: True)

    offerings: list[Offering] = []
    reports: dict[str, LoadReport] = {}
    for csv_source in sources.csvs:
        if csv_source.cloud in wanted:
            found, report = load_skypilot_csv(
                csv_source,
                keep_region=_region_filter(csv_source.cloud, regions),
                keep_type=keep_type,
            )
            offerings.extend(found)
            reports[report.source] = report
    if sources.aws is not None and AWS in wanted:
        found, aws_reports = load_aws(
            sources.aws, keep_region=_region_filter(AWS, regions), keep_type=keep_type
        )
        offerings.extend(found)
        reports.update((r.source, r) for r in aws_reports)
    egress = EgressTable()
    if sources.egress is not None:
        egress, report = load_egress(sources.egress)
        reports[report.source] = report
    return Catalog(tuple(offerings), egress, MappingProxyType(reports))
