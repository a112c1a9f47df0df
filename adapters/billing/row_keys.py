"""Row keys: the same row of the same file gets the same key on every read.

A key is the hex SHA-256 of the row's raw values: every column of the file, the
extra ones included, taken in the order of their sorted names (so a re-export with
the columns shuffled keeps its keys), each as the text the reader saw (see
:mod:`adapters.billing.sources`; a null, written ``NULL`` or left empty, is one
marker), after the sorted column names themselves. That is what makes storing a
bill idempotent: reading the same file again yields keys already stored.

Bills can hold identical rows (two equal charges in one hour), and each must be
stored. So the n-th repeat of a row (n >= 1) is keyed by the hash of the first
one's digest and ``#n``: keys stay distinct within a file and stable across reads,
because rows are always read in file order. Repeats are found by the first 8
bytes of the digest; two different rows sharing those (odds about 1 in 10^7 for a
million rows) only means the second is keyed as a repeat: still distinct, still
stable. Values are joined with a unit separator; a value containing one could in
principle make two different rows join alike, with the same harmless result.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SEPARATOR = "\x1f"
_NULL = "\x00"
_DOMAIN = b"skybatch bill row v1\x1e"
_SLICE_ROWS = 16_384


class RowKeys:
    """Keys for the rows of one file, fed chunk by chunk in file order."""

    def __init__(self, columns: Sequence[str]) -> None:
        self._columns = sorted(columns)
        header = _SEPARATOR.join(self._columns).encode()
        self._base = hashlib.sha256(_DOMAIN + header + b"\x1e")
        # Digest prefix -> rows seen with it so far.
        self._seen: dict[bytes, int] = {}

    def keys(self, table: pa.Table) -> list[str]:
        """The keys of ``table``'s rows (all columns text, as the source yields them)."""
        keys: list[str] = []
        # Joined rows are a copy of the text: a slice at a time keeps that copy small.
        for start in range(0, table.num_rows, _SLICE_ROWS):
            keys += self._slice_keys(table.slice(start, _SLICE_ROWS))
        return keys

    def _slice_keys(self, table: pa.Table) -> list[str]:
        arrays = [table.column(name) for name in self._columns]
        joined = pc.binary_join_element_wise(
            *arrays, _SEPARATOR, null_handling="replace", null_replacement=_NULL
        ).combine_chunks()
        _, offsets_buffer, data_buffer = joined.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[
            joined.offset : joined.offset + len(joined) + 1
        ].tolist()
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        base, seen, sha256 = self._base, self._seen, hashlib.sha256
        keys: list[str] = []
        append = keys.append
        for start, end in itertools.pairwise(offsets):
            h = base.copy()
            h.update(data[start:end])
            digest = h.digest()
            prefix = digest[:8]
            repeat = seen.get(prefix, 0)
            seen[prefix] = repeat + 1
            if repeat:
                append(sha256(digest + b"#%d" % repeat).hexdigest())
            else:
                append(digest.hex())
        return keys
