"""Cost analysis over the store, as pandas frames (what ``notebooks/cost_analysis.ipynb``
shows, kept here so that it is typed and tested).

``load_store(url)`` reads a store (the only I/O); everything else is a pure function
of frames, never modifying its inputs. Money is exact: ``Decimal`` dollars in object
columns, or integer micro-dollars in ``*_micros`` columns; ``floats`` converts a
frame for plotting, the one place money becomes a float.

Modules: ``load`` (reading the store), ``money`` (Decimal columns), ``spend`` (spend
over time by any attribute, spot vs on-demand), ``counterfactual`` (the same attempts
all on demand), ``billing`` (the bill against the computed cost), ``models`` (cost-model
accuracy and price ratios), ``jobs`` (the costliest jobs).
"""

from __future__ import annotations

from scheduler.analysis.billing import BillingSummary, billed_vs_computed, billing_summary
from scheduler.analysis.counterfactual import (
    Savings,
    counterfactual_on_demand,
    local_price_table,
    offering_price_table,
    savings,
)
from scheduler.analysis.jobs import costliest_jobs
from scheduler.analysis.load import StoreFrames, load_store
from scheduler.analysis.models import accuracy_table, price_ratios
from scheduler.analysis.money import decimal_sum, floats
from scheduler.analysis.spend import (
    NONE,
    attempt_spend,
    auto_freq,
    billed_spend,
    market_share,
    spend_by,
    top_columns,
    totals_by,
)

__all__ = [
    "NONE",
    "BillingSummary",
    "Savings",
    "StoreFrames",
    "accuracy_table",
    "attempt_spend",
    "auto_freq",
    "billed_spend",
    "billed_vs_computed",
    "billing_summary",
    "costliest_jobs",
    "counterfactual_on_demand",
    "decimal_sum",
    "floats",
    "load_store",
    "local_price_table",
    "market_share",
    "offering_price_table",
    "price_ratios",
    "savings",
    "spend_by",
    "top_columns",
    "totals_by",
]
