"""What kind of bill a file is, told from its column names alone.

- Any ``lineItem/...`` or ``line_item_...`` column: an AWS CUR, which must then have
  the columns of :data:`~adapters.billing.cur.REQUIRED_COLUMNS`.
- Any FOCUS mandatory column: FOCUS, which must then have all 21 (every one is
  named if some are missing); the version is read off the other columns.
- Neither: refused, saying which columns were expected.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from adapters.billing.cur import REQUIRED_COLUMNS as CUR_REQUIRED
from adapters.billing.cur import CurLayout, looks_like_cur
from adapters.billing.errors import BillingFileError, BillingProblem, file_error
from adapters.billing.focus import FocusLayout
from adapters.billing.focus_spec import FocusVersion, detect_version, mandatory_columns


class BillFormat(StrEnum):
    FOCUS_1_0 = "FOCUS 1.0"
    FOCUS_1_1 = "FOCUS 1.1"
    FOCUS_1_2 = "FOCUS 1.2"
    AWS_CUR = "AWS CUR"


_FOCUS_FORMATS = {
    FocusVersion.V1_0: BillFormat.FOCUS_1_0,
    FocusVersion.V1_1: BillFormat.FOCUS_1_1,
    FocusVersion.V1_2: BillFormat.FOCUS_1_2,
}

Layout = FocusLayout | CurLayout


def layout_format(layout: Layout) -> BillFormat:
    if isinstance(layout, CurLayout):
        return BillFormat.AWS_CUR
    return _FOCUS_FORMATS[layout.version]


def detect_layout(path: Path, columns: tuple[str, ...]) -> Layout:
    """The layout of a file with these columns; :class:`BillingFileError` naming every
    missing column if it is incomplete, or the expected columns if it is neither."""
    present = frozenset(columns)
    layout: Layout
    if looks_like_cur(present):
        layout = CurLayout(present)
        kind = "AWS CUR"
    elif present & set(mandatory_columns(FocusVersion.V1_0)):
        layout = FocusLayout(detect_version(present), present)
        kind = f"FOCUS {layout.version.label}"
    else:
        shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise file_error(
            path,
            "is neither a FOCUS nor an AWS CUR bill: expected the FOCUS columns "
            f"{', '.join(mandatory_columns(FocusVersion.V1_0))} or the CUR columns "
            f"{', '.join(CUR_REQUIRED)}; found {shown or 'no columns'}",
        )
    missing = layout.missing_columns()
    if missing:
        raise BillingFileError(
            path, [BillingProblem(c, None, f"mandatory {kind} column is missing") for c in missing]
        )
    return layout
