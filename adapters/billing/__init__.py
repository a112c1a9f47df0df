"""Cloud bills read into one validated pandas frame: FOCUS 1.0/1.1/1.2 and AWS CUR,
CSV (plain or gzip) or Parquet. Pure: no database, no network, no clock.

:func:`summarize_bill` checks a whole file in one streaming pass and returns its
totals; :func:`iter_bill` yields its rows as frames with the columns of
:data:`BILL_COLUMNS` (names and dtypes in :mod:`adapters.billing.frame`), each row
keyed (``x_RowKey``) so that storing the same file twice stores it once;
:func:`read_bill` returns them as one frame. A file with a missing mandatory
column, a value of the wrong type, a null where none is allowed, a period ending
before it starts, an unknown or non-USD currency, or two currencies is refused with
:class:`BillingFileError`, which names the column and row of every problem.
"""

from adapters.billing.errors import BillingFileError, BillingProblem
from adapters.billing.formats import BillFormat
from adapters.billing.frame import BILL_COLUMNS, bill_dtypes
from adapters.billing.reader import (
    DEFAULT_CHUNK_ROWS,
    BillSummary,
    bill_format,
    iter_bill,
    read_bill,
    summarize_bill,
)

__all__ = [
    "BILL_COLUMNS",
    "DEFAULT_CHUNK_ROWS",
    "BillFormat",
    "BillSummary",
    "BillingFileError",
    "BillingProblem",
    "bill_dtypes",
    "bill_format",
    "iter_bill",
    "read_bill",
    "summarize_bill",
]
