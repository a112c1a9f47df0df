"""Errors of the cost model package."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.errors import SkybatchError


class CostModelError(SkybatchError):
    """Base of the errors :mod:`scheduler.costs` raises on purpose."""


class FrameSchemaError(CostModelError):
    """An input frame lacks columns or holds values the refit cannot use.

    ``frame`` names the frame (``attempts``, ``jobs``, ``billing``); ``columns`` the
    culprit columns.
    """

    def __init__(self, frame: str, columns: Sequence[str], problem: str) -> None:
        super().__init__(f"{frame} frame: {problem}")
        self.frame = frame
        self.columns = tuple(columns)
        self.problem = problem
