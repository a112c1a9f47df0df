"""Billing data in: ingest bills (FOCUS, AWS CUR) into the store, matched to attempts."""

from scheduler.billing.ingest import IngestReport, ingest_file
from scheduler.billing.match import ATTEMPT_TAG_KEYS, match_attempts

__all__ = ["ATTEMPT_TAG_KEYS", "IngestReport", "ingest_file", "match_attempts"]
