"""Which files a catalog is loaded from, and what each one is (provenance).

:meth:`CatalogSources.from_data_dir` knows the layout of the project's shared data
directory (``catalogs/``, ``spot_traces/``, ``billing/``) and the commit and date each
file was taken at; any other set of files can be described field by field. With no
data directory at all, AWS on-demand prices still come from the ``pricing.json``
that ships inside apache-libcloud.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class CatalogError(Exception):
    """A source cannot be used at all: a file is missing or has the wrong columns.

    Bad rows inside a usable file are not errors; they are counted in a
    :class:`~adapters.catalog.report.LoadReport`.
    """


@dataclass(frozen=True)
class CsvSource:
    """A price list in SkyPilot's catalog format (``vms.csv``) for one cloud."""

    cloud: str
    path: Path
    source: str = ""
    source_date: str = ""


@dataclass(frozen=True)
class AwsSources:
    """AWS prices: on-demand from libcloud's ``pricing.json``, spot from the spot advisor.

    ``pricing_json`` None means the file bundled with the installed apache-libcloud; its
    provenance is read from the file (``updated``) and the libcloud version.
    ``spot_advisor`` None means on-demand offerings only.
    """

    pricing_json: Path | None = None
    spot_advisor: Path | None = None
    spot_advisor_source: str = ""
    spot_advisor_date: str = ""


@dataclass(frozen=True)
class EgressSource:
    """Skyplane's inter-cloud egress table (``src,dest,cost``; ``cloud:region``; $/GB)."""

    path: Path
    source: str = ""
    source_date: str = ""


# The shared data directory: paths relative to it and where each file came from
# (see its MANIFEST.tsv and catalogs/SOURCE.txt).
_ANYCLOUD = "anycloud-sh/catalog@62ff0a9"
_ANYCLOUD_DATE = "2026-05-20"
_CSV_FILES: tuple[tuple[str, str, str], ...] = (
    ("gcp", "catalogs/anycloud_gcp_vms.csv", "gcp/vms.csv"),
    ("azure", "catalogs/anycloud_azure_vms.csv", "azure/vms.csv"),
    ("lambda", "catalogs/anycloud_lambda_vms.csv", "lambda/vms.csv"),
)
_SPOT_ADVISOR = "spot_traces/aws_spot_advisor/spot-advisor-data.json"
_SPOT_ADVISOR_SOURCE = "alexei-led/spotinfo@05e9331 internal/spot/data/spot-advisor-data.json"
_SPOT_ADVISOR_DATE = "2025-06"
_EGRESS = "billing/skyplane_egress/intercloud_egress_cost.csv"
_EGRESS_SOURCE = "skyplane-project/skyplane@1e920e4 skyplane/broadcast/profiles/cost.csv"
_EGRESS_DATE = "2023-02-06"


@dataclass(frozen=True)
class CatalogSources:
    """Everything a catalog is loaded from. ``aws`` None: no AWS offerings."""

    csvs: tuple[CsvSource, ...] = ()
    aws: AwsSources | None = None
    egress: EgressSource | None = None

    @property
    def clouds(self) -> frozenset[str]:
        clouds = {c.cloud for c in self.csvs}
        if self.aws is not None:
            clouds.add("aws")
        return frozenset(clouds)

    @classmethod
    def bundled(cls) -> CatalogSources:
        """Only what ships with installed packages: AWS on-demand from libcloud."""
        return cls(aws=AwsSources())

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> CatalogSources:
        """The files of the shared data directory that exist under ``data_dir``.

        Raises :class:`CatalogError` when there are none (a wrong path, most likely).
        """
        csvs = tuple(
            CsvSource(cloud, data_dir / rel, f"{_ANYCLOUD} {upstream}", _ANYCLOUD_DATE)
            for cloud, rel, upstream in _CSV_FILES
            if (data_dir / rel).is_file()
        )
        advisor = data_dir / _SPOT_ADVISOR
        egress = data_dir / _EGRESS
        if not csvs and not advisor.is_file() and not egress.is_file():
            raise CatalogError(f"no catalog files under {data_dir}")
        return cls(
            csvs=csvs,
            aws=AwsSources(
                spot_advisor=advisor,
                spot_advisor_source=_SPOT_ADVISOR_SOURCE,
                spot_advisor_date=_SPOT_ADVISOR_DATE,
            )
            if advisor.is_file()
            else AwsSources(),
            egress=EgressSource(egress, _EGRESS_SOURCE, _EGRESS_DATE) if egress.is_file() else None,
        )
