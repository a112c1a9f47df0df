"""Real cloud price lists as :class:`~adapters.base.Offering` objects.

Sources: SkyPilot-format ``vms.csv`` price lists (GCP, Azure, Lambda), AWS on-demand
prices from apache-libcloud's bundled ``pricing.json`` with spot prices and interruption
bands from the AWS Spot Instance Advisor, and Skyplane's inter-cloud egress table.
Every offering says where its price came from (``source``, ``source_date``); every
source gets a :class:`LoadReport` of what it yielded and which dirty rows were skipped.
Assumed numbers (hazards without a band, launch delays, egress defaults) live in
:mod:`adapters.catalog.defaults`.

Entry point: :func:`load_catalog`.
"""

from __future__ import annotations

from adapters.catalog.aws import GPU_BY_FAMILY, libcloud_pricing_path, load_aws
from adapters.catalog.catalog import Catalog, InstanceFilter, load_catalog
from adapters.catalog.egress import EgressTable, default_egress_per_gb, load_egress
from adapters.catalog.report import LoadReport, Repair, Skip
from adapters.catalog.skypilot_csv import load_skypilot_csv
from adapters.catalog.sources import (
    AwsSources,
    CatalogError,
    CatalogSources,
    CsvSource,
    EgressSource,
)

__all__ = [
    "GPU_BY_FAMILY",
    "AwsSources",
    "Catalog",
    "CatalogError",
    "CatalogSources",
    "CsvSource",
    "EgressSource",
    "EgressTable",
    "InstanceFilter",
    "LoadReport",
    "Repair",
    "Skip",
    "default_egress_per_gb",
    "libcloud_pricing_path",
    "load_aws",
    "load_catalog",
    "load_egress",
    "load_skypilot_csv",
]
