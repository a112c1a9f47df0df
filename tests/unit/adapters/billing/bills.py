"""Small hand-made bills for the tests: a valid FOCUS row, and a writer for CSV files
built from it with some cells changed."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path

SAMPLE = Path(__file__).parents[3] / "data" / "billing" / "focus_1.0_sample.csv"

#: A valid FOCUS 1.0 row with only the mandatory columns (and Tags).
VALID_ROW: dict[str, str] = {
    "BilledCost": "1.50",
    "BillingAccountId": "123456789012",
    "BillingAccountName": "payer",
    "BillingCurrency": "USD",
    "BillingPeriodEnd": "2024-10-01T00:00:00Z",
    "BillingPeriodStart": "2024-09-01T00:00:00Z",
    "ChargeCategory": "Usage",
    "ChargeClass": "NULL",
    "ChargeDescription": "m5.large hour",
    "ChargePeriodEnd": "2024-09-01T01:00:00Z",
    "ChargePeriodStart": "2024-09-01T00:00:00Z",
    "ContractedCost": "1.50",
    "EffectiveCost": "1.50",
    "InvoiceIssuerName": "Amazon Web Services, Inc.",
    "ListCost": "2.00",
    "PricingQuantity": "1",
    "PricingUnit": "Hours",
    "ProviderName": "AWS",
    "PublisherName": "Amazon Web Services, Inc.",
    "ServiceCategory": "Compute",
    "ServiceName": "Amazon Elastic Compute Cloud",
    "Tags": '{"skybatch-attempt": "att-1"}',
}


def write_rows(
    path: Path,
    changes: Sequence[Mapping[str, str]],
    *,
    columns: Sequence[str] | None = None,
) -> Path:
    """A CSV with one row per entry of ``changes``: :data:`VALID_ROW` with those cells
    changed (a cell set to ``"NULL"`` is written unquoted, as real exports do)."""
    names = list(columns or VALID_ROW)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(names)
        for change in changes:
            row = {**VALID_ROW, **change}
            writer.writerow([row.get(name, "NULL") for name in names])
    return path


def read_text_rows(path: Path) -> list[dict[str, str]]:
    """The file's data rows as text, read with the csv module (not the reader under test)."""
    with path.open(newline="") as f:
        return list(csv.DictReader(f))
