"""Why a billing file was refused: every problem, each naming the column and the row.

A bill is all or nothing. One bad cell refuses the whole file, and the error lists
every bad cell found (not only the first), so whoever fixes the export sees all of
it at once. Row numbers are the ones a person sees in the file (see
:mod:`adapters.billing.sources` for how CSV rows are counted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

#: Problems kept in :attr:`BillingFileError.problems`; past this only a count is kept,
#: so a file where every one of a million rows is wrong does not exhaust memory.
MAX_KEPT_PROBLEMS = 1000
#: Problems spelled out by ``str(error)``; the rest are summed up as "... and N more".
SHOWN_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class BillingProblem:
    """One thing wrong with a billing file.

    ``column`` is the column as named in the file (``lineItem/UnblendedCost`` for a
    CUR), or ``""`` for the file as a whole. ``row`` is None when the problem is not
    about one row (a missing column, an empty file).
    """

    column: str
    row: int | None
    message: str

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (self.column, f"row {self.row}" if self.row is not None else "")
            if part
        )
        return f"{where}: {self.message}" if where else self.message


class BillingFileError(Exception):
    """A billing file cannot be used: nothing of it may be stored.

    ``problems`` holds the first :data:`MAX_KEPT_PROBLEMS` problems found;
    ``problem_count`` counts them all.
    """

    def __init__(
        self, path: Path, problems: list[BillingProblem], problem_count: int | None = None
    ) -> None:
        self.path = path
        self.problems = problems
        self.problem_count = max(problem_count or 0, len(problems))
        super().__init__(self._render())

    def _render(self) -> str:
        # One line per problem, each starting with the file's name, as compilers do:
        # ``bill.csv: BilledCost row 17: 'abc' is not a decimal number``.
        lines = [str(p) for p in self.problems[:SHOWN_PROBLEMS]]
        more = self.problem_count - len(lines)
        if more > 0:
            lines.append(f"... and {more} more")
        return "\n".join(f"{self.path.name}: {line}" for line in lines)

    def __str__(self) -> str:
        return self._render()

    def __reduce__(self) -> tuple[type[BillingFileError], tuple[Path, list[BillingProblem], int]]:
        # Rebuilt from its fields, not from the rendered message (Exception's default),
        # so the error survives a trip through pickle (a worker process, a queue).
        return (BillingFileError, (self.path, self.problems, self.problem_count))


def file_error(
    path: Path, message: str, column: str = "", row: int | None = None
) -> BillingFileError:
    """A :class:`BillingFileError` with a single problem."""
    return BillingFileError(path, [BillingProblem(column, row, message)])


class Problems:
    """Collects the problems of one file, vectorised: a check hands over a mask of bad
    rows and a way to describe one of them; only the kept ones are described."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.kept: list[BillingProblem] = []
        self.count = 0
        # Two checks can see the same cell (a CUR cost column read for two FOCUS
        # columns); the reader should be told once.
        self._seen: set[tuple[str, int | None, str]] = set()

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, column: str, row: int | None, message: str) -> None:
        key = (column, row, message)
        if key in self._seen:
            return
        self._seen.add(key)
        self.count += 1
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(BillingProblem(column, row, message))

    def add_rows(
        self,
        column: str,
        bad: npt.NDArray[np.bool_],
        first_row: int,
        describe: Callable[[int], str],
    ) -> None:
        """Report every index where ``bad`` is true; ``describe(i)`` gives the message
        for index ``i`` of the chunk, whose first row is file row ``first_row``."""
        for i in np.flatnonzero(bad).tolist():
            if len(self.kept) >= MAX_KEPT_PROBLEMS:
                # Past the cap only the count matters; duplicates cannot be told
                # apart without describing them, so count each reported index.
                self.count += int(np.count_nonzero(bad)) - int(np.count_nonzero(bad[:i]))
                return
            self.add(column, first_row + i, describe(i))

    def error(self) -> BillingFileError:
        return BillingFileError(self.path, list(self.kept), self.count)

    def raise_if_any(self) -> None:
        if self.count:
            raise self.error()
