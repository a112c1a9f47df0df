"""Hypothesis strategies for any protobuf message, built from its descriptor.

Every field gets values of its declared type with the pathological ones weighted in:
strings huge (10 MB), unicode, with NUL or newlines; integers at the extremes of
their width; floats NaN, infinities, -0 and subnormals; enums outside the declared
values; timestamps in 1970, 0001, 9999 and beyond, with nanos out of range;
durations negative and huge; repeated fields thousands long; maps with odd keys.

A ``skybatch.v1.JobSpec`` is drawn either fully at random or as a valid spec with a
few fields replaced by such values, so that some fuzzed jobs pass validation and
reach the store and the planner. Their program (``command[0]``) always comes from a
fixed list of harmless or non-existent programs: the control loop really runs them
on the local cloud.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

MB = 1024 * 1024
#: Allocated once; hypothesis draws them by reference.
HUGE_TEXT = "x" * (10 * MB)
#: Under the server's request limit (4 MiB by default), so that handlers see it.
BIG_TEXT = "z" * (3 * MB)
HUGE_UNICODE = "\u00e9\u6f22\U0001f600" * (256 * 1024)
HUGE_BYTES = b"\x00\xff" * MB

_INT_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}

# Timestamps: the protobuf range is 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
_YEAR_1 = -62_135_596_800
_YEAR_9999_END = 253_402_300_799
_PROGRAMS = (
    "true",
    "",
    " ",
    "\x00",
    "/no/such/program",
    "tr\x00ue",
    BIG_TEXT,
    HUGE_TEXT,
    "\u00e9t\u00e9",
)

_TEXT_SAMPLES = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "line\n",
    "\t\r\n",
    "\u202e\u200b\ufeff",
    "\U0001f600" * 64,
    "x" * 129,
    "../../etc/passwd",
    "%s%n%x",
    "'; DROP TABLE jobs; --",
    "9" * 5000,
    "n" + "9" * 5000,
    "n99999999999999999999",
    "9" * 19,
    "n" + "9" * 18,
    "\u00b2",
    "n\u00b2",
    "-1",
    "0",
    "local",
    "us-central1",
    "team",
    "j-0000000000000000",
]
_HUGE_TEXTS = ["y" * 70_000, BIG_TEXT, HUGE_TEXT, HUGE_UNICODE]
_random_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
texts = st.one_of(_random_text, st.sampled_from(_TEXT_SAMPLES))
#: For the elements of long lists: nothing big (a list of 20,000 10 MB strings is 200 GB).
small_texts = st.one_of(_random_text, st.sampled_from([t for t in _TEXT_SAMPLES if len(t) < 1000]))


def _ints(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = [v for v in (lo, hi, 0, 1, -1, lo + 1, hi - 1, 2**31, -(2**31) - 1) if lo <= v <= hi]
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


def _floats(width: int) -> st.SearchStrategy[float]:
    special = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 5e-324, 1e308, -1e308, 0.5]
    if width == 32:
        special = [
            float("nan"),
            float("inf"),
            float("-inf"),
            -0.0,
            1e-45,
            3.4e38,
            -3.4e38,
            0.5,
        ]
    return st.one_of(st.sampled_from(special), st.floats(width=width))


def _now() -> int:
    return int(time.time())


timestamp_seconds = st.one_of(
    st.sampled_from(
        [0, -1, _YEAR_1, _YEAR_1 - 1, _YEAR_9999_END, _YEAR_9999_END + 1, -(2**63), 2**63 - 1]
    ),
    st.integers(-(2**63), 2**63 - 1),
    # Near now, where a deadline can be valid.
    st.integers(-3600, 400 * 86400).map(lambda offset: _now() + offset),
)
nanos = st.one_of(
    st.sampled_from([0, 999_999_999, 1_000_000_000, -1, -999_999_999, -(2**31), 2**31 - 1]),
    st.integers(0, 999_999_999),
)
duration_seconds = st.one_of(
    st.sampled_from(
        [0, -1, 1, 315_576_000_000, 315_576_000_001, -315_576_000_001, -(2**63), 2**63 - 1]
    ),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-10, 40 * 86400),
)


def _well_known(name: str, cls: type[Any]) -> st.SearchStrategy[Any] | None:
    if name == "google.protobuf.Timestamp":
        return st.builds(cls, seconds=timestamp_seconds, nanos=nanos)
    if name == "google.protobuf.Duration":
        return st.builds(cls, seconds=duration_seconds, nanos=nanos)
    return None


def _repeated(
    elem: st.SearchStrategy[Any], small_elem: st.SearchStrategy[Any]
) -> st.SearchStrategy[list[Any]]:
    return st.one_of(
        st.lists(elem, max_size=4),
        # Long lists without paying hypothesis for every element.
        st.tuples(small_elem, st.sampled_from([1_000, 20_000])).map(lambda t: [t[0]] * t[1]),
    )


def scalar(fd: FieldDescriptor, small: bool = False) -> st.SearchStrategy[Any]:
    t = fd.type
    if t in _INT_RANGES:
        return _ints(*_INT_RANGES[t])
    if t == FieldDescriptor.TYPE_DOUBLE:
        return _floats(64)
    if t == FieldDescriptor.TYPE_FLOAT:
        return _floats(32)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_STRING:
        return small_texts if small else st.one_of(texts, st.sampled_from(_HUGE_TEXTS))
    if t == FieldDescriptor.TYPE_BYTES:
        return (
            st.binary(max_size=64)
            if small
            else st.one_of(st.binary(max_size=64), st.just(HUGE_BYTES))
        )
    if t == FieldDescriptor.TYPE_ENUM:
        declared = [v.number for v in fd.enum_type.values]
        return st.one_of(st.sampled_from(declared), _ints(-(2**31), 2**31 - 1))
    raise AssertionError(f"unhandled field type {t} of {fd.full_name}")


def _command(small: bool) -> st.SearchStrategy[list[str]]:
    programs = st.sampled_from([p for p in _PROGRAMS if not small or len(p) < 1000])
    args = st.lists(small_texts if small else texts, max_size=4)
    simple = st.one_of(st.just([]), st.tuples(programs, args).map(lambda t: [t[0], *t[1]]))
    if small:
        return simple
    many = st.tuples(programs, st.sampled_from([1_000, 100_000])).map(
        lambda t: ["true"] + [t[0][:64] or "a"] * t[1]
    )
    return st.one_of(simple, many)


def field_value(fd: FieldDescriptor, depth: int, small: bool = False) -> st.SearchStrategy[Any]:
    """A value to assign with :func:`assign` (a list for repeated fields, a dict for maps).
    ``small``: nothing of more than a few KiB (the element of a long list)."""
    if fd.containing_type.full_name == "skybatch.v1.JobSpec" and fd.name == "command":
        return _command(small)
    if fd.type == FieldDescriptor.TYPE_MESSAGE:
        mt = fd.message_type
        if mt.GetOptions().map_entry:
            key, value = mt.fields_by_name["key"], mt.fields_by_name["value"]
            one = st.dictionaries(
                scalar(key, small), field_value(value, depth + 1, small), max_size=4
            )
            many = st.integers(100, 2000).map(lambda n: {f"k{i}": "v" for i in range(n)})
            return one if small else st.one_of(one, many)
        elem, small_elem = message(mt, depth + 1, small), message(mt, depth + 1, True)
    else:
        elem, small_elem = scalar(fd, small), scalar(fd, True)
    if not fd.is_repeated:
        return elem
    return st.lists(elem, max_size=4) if small else _repeated(elem, small_elem)


def assign(msg: Any, fd: FieldDescriptor, value: Any) -> None:
    target = getattr(msg, fd.name)
    if fd.type == FieldDescriptor.TYPE_MESSAGE and fd.message_type.GetOptions().map_entry:
        value_fd = fd.message_type.fields_by_name["value"]
        for k, v in value.items():
            if value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                target[k].CopyFrom(v)
            else:
                target[k] = v
    elif fd.is_repeated:
        target.extend(value)
    elif fd.type == FieldDescriptor.TYPE_MESSAGE:
        target.CopyFrom(value)
    else:
        setattr(msg, fd.name, value)


def _random_message(d: Descriptor, depth: int, small: bool) -> st.SearchStrategy[Any]:
    cls = GetMessageClass(d)
    if depth > 4:
        return st.just(cls())
    fields = list(d.fields)
    values = st.tuples(*(st.one_of(st.none(), field_value(fd, depth, small)) for fd in fields))

    def build(drawn: tuple[Any, ...]) -> Any:
        msg = cls()
        for fd, value in zip(fields, drawn, strict=True):
            if value is not None:
                assign(msg, fd, value)
        return msg

    return values.map(build)


def _near_valid_spec(d: Descriptor, small: bool) -> st.SearchStrategy[Any]:
    """A valid job (runs ``true`` for a second on the local cloud) with up to three
    fields replaced by fuzzed values."""
    cls = GetMessageClass(d)

    def valid() -> Any:
        spec = cls(name="fuzz", command=["true"], labels={"fuzz": "yes"})
        spec.resources.vcpus = 1
        spec.resources.memory_gib = 1
        spec.estimated_runtime.FromTimedelta(timedelta(seconds=5))
        spec.deadline.FromSeconds(_now() + 3600)
        return spec

    fields = list(d.fields)
    changes = st.lists(
        st.sampled_from(range(len(fields))).flatmap(
            lambda i: st.tuples(st.just(i), field_value(fields[i], 1, small))
        ),
        max_size=3,
    )

    def build(drawn: list[tuple[int, Any]]) -> Any:
        spec = valid()
        for i, value in drawn:
            spec.ClearField(fields[i].name)
            assign(spec, fields[i], value)
        return spec

    return changes.map(build)


_CACHE: dict[str, st.SearchStrategy[Any]] = {}


def message(d: Descriptor, depth: int = 0, small: bool = False) -> st.SearchStrategy[Any]:
    """Any message of type ``d`` (``small``: without huge fields)."""
    key = f"{d.full_name}@{depth}/{small}"
    if key not in _CACHE:
        wk = _well_known(d.full_name, GetMessageClass(d))
        if wk is not None:
            _CACHE[key] = wk
        elif d.full_name == "skybatch.v1.JobSpec":
            _CACHE[key] = st.one_of(_near_valid_spec(d, small), _random_message(d, depth, small))
        else:
            _CACHE[key] = st.deferred(lambda: _random_message(d, depth, small))
    return _CACHE[key]
