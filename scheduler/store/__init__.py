"""Durable state: jobs, their append-only events, attempts and nodes (sqlmodel).

The only package that imports sqlmodel. SQLite in WAL mode by default; any
SQLAlchemy URL by setting.
"""

from scheduler.store.attempts import AttemptStore, LiveAttempt, RetryBudgets
from scheduler.store.database import Database
from scheduler.store.jobs import JobStore

__all__ = ["AttemptStore", "Database", "JobStore", "LiveAttempt", "RetryBudgets"]
