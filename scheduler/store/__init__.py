"""Durable state: jobs, their append-only events, attempts and nodes (sqlmodel).

The only package that imports sqlmodel. SQLite in WAL mode by default; any
SQLAlchemy URL by setting.
"""

from scheduler.store.attempts import AttemptStore, LiveAttempt, RetryBudgets
from scheduler.store.billing import BillingFile, BillingStore, FileTotals
from scheduler.store.costmodels import CostModelStore
from scheduler.store.database import Database
from scheduler.store.history import HistoryStore
from scheduler.store.jobs import JobStore
from scheduler.store.metrics_queries import StoreCounts, ping, reachable, store_counts
from scheduler.store.quotas import QuotaStore
from scheduler.store.tenants import TenantStore

__all__ = [
    "AttemptStore",
    "BillingFile",
    "BillingStore",
    "CostModelStore",
    "Database",
    "FileTotals",
    "HistoryStore",
    "JobStore",
    "LiveAttempt",
    "QuotaStore",
    "RetryBudgets",
    "StoreCounts",
    "TenantStore",
    "ping",
    "reachable",
    "store_counts",
]
