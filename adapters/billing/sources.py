"""Opening a billing file: its column names, then its rows in chunks, every value as text.

What a file is comes from its first bytes, not its name: ``PAR1`` is Parquet, the gzip
magic is gzip-compressed CSV, anything else is tried as CSV. Every value reaches the
rest of the package as an Arrow string (or null), whatever the container:

- CSV is parsed by Arrow's streaming reader with every column typed string, so a
  value is exactly the text in the file (``0.00000080000`` keeps its zeros). The
  literal ``NULL`` and the empty field are null, quoted or not (real FOCUS exports
  write ``NULL``).
- Parquet columns may be typed (AWS writes costs as double or decimal and times as
  timestamp[ms]); each is cast to text by Arrow (a double as its shortest round-trip
  form, a decimal with its scale, a timestamp as ``2024-09-01 00:00:00.000Z``), a
  nested column (a ``map`` of tags) as JSON. ``NULL`` and empty strings are null here
  too.

Row numbers are the ones a person sees: in CSV the header is row 1 and the first data
row is 2. Rows are counted as CSV records, not physical lines, so a quoted value
holding a newline does not shift the numbers of the rows after it (an editor's line
number would); blank lines are skipped and not counted either. Without such values
the row number is the line number. In Parquet the first row is 1.

Arrow's reader runs single-threaded here: on two cores it is as fast (the parsing is
not the bottleneck), and only then does it know the line number of a row with the
wrong number of fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from adapters.billing.errors import BillingFileError, BillingProblem, file_error

#: Text values that mean null.
NULL_TEXTS = ("", "NULL")

_GZIP_MAGIC = b"\x1f\x8b"
_PARQUET_MAGIC = b"PAR1"
_ZIP_MAGIC = b"PK\x03\x04"
# Arrow reads CSV in blocks of this size, and one record must fit in a block (a
# longer one is refused as unreadable). 4 MiB is far above any real bill row (~1 KiB)
# and keeps memory flat; 1 MiB saved ~8% RSS in benchmarks/billing/read_bench.py.
_CSV_BLOCK_BYTES = 4 << 20
_ARROW_CELL = re.compile(r"In CSV column #(?P<column>\d+): Row #(?P<row>\d+): (?P<detail>.*)")
# The header is parsed from at most this much text, so a binary file with no line
# break is refused without being read whole.
_HEADER_BYTES = 1 << 20


class Container(Enum):
    CSV = "CSV"
    CSV_GZIP = "gzip-compressed CSV"
    PARQUET = "Parquet"


@dataclass(frozen=True)
class RawChunk:
    """Consecutive rows of a file. Every column of ``table`` is ``pa.string()``;
    ``first_row`` is the file row number of its first row."""

    table: pa.Table
    first_row: int
    _columns: dict[str, pa.ChunkedArray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def column(self, name: str) -> pa.ChunkedArray:
        """One column, as the blocks it was read in (not copied into one array: the
        parsers work block by block). The same object on every call, so a column read
        for two frame columns is parsed once."""
        if name not in self._columns:
            self._columns[name] = self.table.column(name)
        return self._columns[name]


class BillSource:
    """An opened billing file: :attr:`columns` at once, rows on demand via :meth:`chunks`."""

    def __init__(self, path: Path, container: Container, columns: tuple[str, ...]) -> None:
        self.path = path
        self.container = container
        self.columns = columns
        #: The row number of the first data row.
        self.first_row = 1 if container is Container.PARQUET else 2

    def chunks(self, chunk_rows: int) -> Iterator[RawChunk]:
        """The rows in chunks of ``chunk_rows`` (the last may be shorter). Raises
        :class:`BillingFileError` for rows that cannot be parsed at all."""
        if self.container is Container.PARQUET:
            batches = self._parquet_batches(chunk_rows)
        else:
            batches = self._csv_batches()
        row = self.first_row
        for table in _rebatch(batches, chunk_rows):
            yield RawChunk(table, row)
            row += table.num_rows

    def _csv_batches(self) -> Iterator[pa.RecordBatch]:
        invalid: list[BillingProblem] = []

        def on_invalid_row(bad: Any) -> str:
            # Arrow numbers records from 1 with the header as record 1, as we do.
            invalid.append(
                BillingProblem(
                    "",
                    bad.number,
                    f"has {bad.actual_columns} fields, the header has {bad.expected_columns}",
                )
            )
            return "skip"

        stream: pa.NativeFile = pa.OSFile(str(self.path))
        if self.container is Container.CSV_GZIP:
            stream = pa.CompressedInputStream(stream, "gzip")
        rows = 0
        try:
            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(block_size=_CSV_BLOCK_BYTES, use_threads=False),
                parse_options=pa_csv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid_row
                ),
                convert_options=pa_csv.ConvertOptions(
                    column_types={name: pa.string() for name in self.columns},
                    null_values=list(NULL_TEXTS),
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                ),
            )
            if tuple(reader.schema.names) != self.columns:
                raise file_error(self.path, "the CSV header could not be read consistently")
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                if invalid:
                    raise BillingFileError(self.path, invalid)
                rows += batch.num_rows
                yield batch
            if invalid:
                raise BillingFileError(self.path, invalid)
        except (pa.ArrowException, OSError, EOFError) as exc:
            raise self._csv_error(exc, rows) from exc
        finally:
            stream.close()

    def _csv_error(self, exc: BaseException, rows_read: int) -> BillingFileError:
        message = _first_line(exc)
        # Arrow names the cell of a conversion error (bad UTF-8): "In CSV column #7:
        # Row #3: CSV conversion error to string: invalid UTF8 data". Its rows count
        # records from the header, as ours do.
        cell = _ARROW_CELL.search(message)
        if cell and int(cell["column"]) < len(self.columns):
            detail = cell["detail"]
            if "invalid UTF8" in detail:
                detail = "is not UTF-8 text"
            return file_error(
                self.path, detail, column=self.columns[int(cell["column"])], row=int(cell["row"])
            )
        where = "the header" if rows_read == 0 else f"row {self.first_row + rows_read - 1}"
        return file_error(
            self.path, f"not a readable {self.container.value} file after {where}: {message}"
        )

    def _parquet_batches(self, chunk_rows: int) -> Iterator[pa.RecordBatch]:
        try:
            with pq.ParquetFile(str(self.path)) as parquet:
                for batch in parquet.iter_batches(batch_size=chunk_rows):
                    yield pa.RecordBatch.from_arrays(
                        [as_text(column) for column in batch.columns], names=list(self.columns)
                    )
        except (pa.ArrowException, OSError) as exc:
            raise file_error(self.path, f"not a readable Parquet file: {_first_line(exc)}") from exc


def open_source(path: str | os.PathLike[str]) -> BillSource:
    """Open ``path`` and read its column names. Raises :class:`BillingFileError` for a
    file that is empty, not CSV or Parquet, or has a repeated or unnamed column."""
    where = Path(path)
    try:
        with where.open("rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise file_error(where, f"cannot be read: {exc.strerror or exc}") from exc
    if not magic:
        raise file_error(where, "is empty (no header, no rows)")
    if magic == _PARQUET_MAGIC:
        container = Container.PARQUET
        columns = _parquet_columns(where)
    elif magic.startswith(_ZIP_MAGIC):
        raise file_error(where, "is a zip archive; unzip it and read the CSV inside")
    else:
        container = Container.CSV_GZIP if magic.startswith(_GZIP_MAGIC) else Container.CSV
        columns = _csv_columns(where, container)
    seen: set[str] = set()
    for name in columns:
        if not name.strip():
            raise file_error(where, "a column has no name in the header")
        if name in seen:
            raise file_error(where, "appears twice in the header", column=name)
        seen.add(name)
    return BillSource(where, container, columns)


def _parquet_columns(path: Path) -> tuple[str, ...]:
    try:
        return tuple(pq.read_schema(str(path)).names)
    except (pa.ArrowException, OSError) as exc:
        raise file_error(path, f"not a readable Parquet file: {_first_line(exc)}") from exc


def _csv_columns(path: Path, container: Container) -> tuple[str, ...]:
    try:
        stream: pa.NativeFile = pa.OSFile(str(path))
        if container is Container.CSV_GZIP:
            stream = pa.CompressedInputStream(stream, "gzip")
        with stream:
            head = stream.read(_HEADER_BYTES)
        # The head holds rows too, whose bytes are Arrow's to judge: keep undecodable
        # bytes (as surrogates) and refuse them below only if they are in the header.
        # A character cut at the end of the head is left pending (final=False).
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="surrogateescape")
        text = decoder.decode(head, final=False)
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise file_error(
            path, f"not a readable {container.value} file: {_first_line(exc)}"
        ) from exc
    if not text.strip():
        raise file_error(path, "is empty (no header, no rows)")
    if "\x00" in text:
        raise file_error(path, "not a CSV file: it contains NUL bytes")
    lines = io.StringIO(text, newline="")
    try:
        header = next(csv.reader(lines))
    except (csv.Error, StopIteration) as exc:
        raise file_error(path, f"not a CSV file: {exc}") from exc
    if lines.tell() >= len(text) and len(head) >= _HEADER_BYTES:
        raise file_error(path, f"not a CSV file: no end of the header in {_HEADER_BYTES} bytes")
    for name in header:
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise file_error(path, "not a CSV file: the header is not UTF-8 text") from None
    return tuple(header)


def as_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column of any Arrow type as strings, nulls kept and ``NULL``/empty made null."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_dictionary(kind):
        return as_text(column.dictionary_decode())
    if pa.types.is_null(kind):
        return pa.nulls(len(column), pa.string())
    if pa.types.is_nested(kind):
        text = pa.array([_json(v) for v in column.to_pylist()], pa.string())
    elif pa.types.is_string(kind):
        text = column
    else:
        # Cast the distinct values only: bills repeat their timestamps (a month has
        # 720 hours), and casting a timestamp to text is slow (~1 us each).
        encoded = pc.dictionary_encode(column)
        text = pc.take(encoded.dictionary.cast(pa.string()), encoded.indices)
    return null_texts_to_null(text)


def null_texts_to_null(text: pa.Array) -> pa.Array:
    is_null_text = pc.is_in(text, value_set=pa.array(NULL_TEXTS, pa.string()))
    if not pc.any(is_null_text).as_py():
        return text
    return pc.if_else(is_null_text, pa.scalar(None, pa.string()), text)


def _json(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        # Arrow gives a map as a list of (key, value) pairs.
        value = dict(value)
    return json.dumps(value, default=str, sort_keys=True)


def _rebatch(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup batches of any size into tables of exactly ``rows`` rows (the last one
    shorter): callers get the chunk size they asked for whatever Arrow's blocks are."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        count += batch.num_rows
        while count >= rows:
            table = pa.Table.from_batches(pending)
            pending = table.slice(rows).to_batches()
            count -= rows
            # Slices share the blocks' memory: nothing is copied here, and the
            # generator keeps no reference to a chunk once it is handed out.
            chunk = table.slice(0, rows)
            del table
            yield chunk
            del chunk
    if count:
        yield pa.Table.from_batches(pending)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
