"""The spot trace reader: both encodings of the "Can't Be Late" traces, on tiny
hand-written fixtures (the real traces carry no licence and stay in ../shared/data)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from adapters.traces import Encoding, TraceError, encoding_for, load_spot_trace, load_spot_traces
from adapters.traces.spot import AVAILABLE_COUNT_DIR, PREEMPTED_FLAG_DIR, same_gap

#: One made-up stretch of capacity, True = spot could be had.
TRUTH = [True, True, False, False, True, False, True, True]


def write(path: Path, data: list[int], gap: object = 600, **meta: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metadata": {"gap_seconds": gap, **meta}, "data": data}))
    return path


@pytest.fixture
def both(tmp_path: Path) -> tuple[Path, Path]:
    """The same truth in each set's own encoding, in each set's own directory."""
    counts = write(
        tmp_path / AVAILABLE_COUNT_DIR / "availability" / "us-west-2a_v100_1.json",
        [1 if a else 0 for a in TRUTH],
    )
    flags = write(
        tmp_path / PREEMPTED_FLAG_DIR / "us-west-2a_v100_1" / "0.json",
        [0 if a else 1 for a in TRUTH],
        start_time="2022-11-07T13:07:51.000Z",
    )
    return counts, flags


def test_both_encodings_decode_to_the_same_availability(both: tuple[Path, Path]) -> None:
    counts, flags = both
    a = load_spot_trace(counts)
    b = load_spot_trace(flags)
    assert a.encoding is Encoding.AVAILABLE_COUNT
    assert b.encoding is Encoding.PREEMPTED_FLAG
    assert a.available.dtype == np.bool_
    assert a.available.tolist() == TRUTH == b.available.tolist()
    assert a.gap_s == b.gap_s == 600
    assert b.start_time == "2022-11-07T13:07:51.000Z"
    assert b.name == "us-west-2a_v100_1/0"
    assert a.name == "us-west-2a_v100_1"


def test_the_encoding_comes_from_the_directory_or_the_caller(
    both: tuple[Path, Path], tmp_path: Path
) -> None:
    counts, flags = both
    assert encoding_for(counts) is Encoding.AVAILABLE_COUNT
    assert encoding_for(flags) is Encoding.PREEMPTED_FLAG
    elsewhere = write(tmp_path / "mine" / "t.json", [1, 0])
    with pytest.raises(TraceError, match="state the encoding"):
        load_spot_trace(elsewhere)
    # stated explicitly, the same bits mean opposite things
    assert load_spot_trace(elsewhere, Encoding.AVAILABLE_COUNT).available.tolist() == [True, False]
    assert load_spot_trace(elsewhere, Encoding.PREEMPTED_FLAG).available.tolist() == [False, True]


def test_multi_node_counts_need_enough_nodes(tmp_path: Path) -> None:
    path = write(tmp_path / "t.json", [0, 3, 16, 8])
    trace = load_spot_trace(path, Encoding.AVAILABLE_COUNT, nodes=8)
    assert trace.available.tolist() == [False, False, True, True]
    assert load_spot_trace(path, Encoding.AVAILABLE_COUNT).available.tolist() == [
        False,
        True,
        True,
        True,
    ]


def test_statistics(tmp_path: Path) -> None:
    trace = load_spot_trace(
        write(tmp_path / "t.json", [1, 1, 0, 0, 1, 0, 1, 1], gap=1800),
        Encoding.AVAILABLE_COUNT,
    )
    assert trace.ticks == 8
    assert trace.hours == 4.0
    assert trace.availability == 5 / 8
    # two drops over 2.5 hours of spot
    assert trace.preemptions_per_hour() == pytest.approx(2 / 2.5)


@pytest.mark.parametrize(
    ("payload", "encoding", "message"),
    [
        ({"data": [1]}, Encoding.AVAILABLE_COUNT, "gap_seconds"),
        ({"metadata": {"gap_seconds": 0}, "data": [1]}, Encoding.AVAILABLE_COUNT, "gap_seconds"),
        ({"metadata": {"gap_seconds": 1.5}, "data": [1]}, Encoding.AVAILABLE_COUNT, "gap"),
        ({"metadata": {"gap_seconds": 60}, "data": []}, Encoding.AVAILABLE_COUNT, "empty"),
        (
            {"metadata": {"gap_seconds": 60}, "data": [1, -1]},
            Encoding.AVAILABLE_COUNT,
            r"data\[1\]",
        ),
        (
            {"metadata": {"gap_seconds": 60}, "data": [1, "x"]},
            Encoding.AVAILABLE_COUNT,
            r"data\[1\]",
        ),
        ({"metadata": {"gap_seconds": 60}, "data": [0, 2]}, Encoding.PREEMPTED_FLAG, "0 or 1"),
        ([1, 0], Encoding.AVAILABLE_COUNT, "object"),
    ],
)
def test_bad_files_are_refused_with_the_reason(
    tmp_path: Path, payload: object, encoding: Encoding, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(payload))
    with pytest.raises(TraceError, match=message):
        load_spot_trace(path, encoding)


def test_not_json_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TraceError, match="cannot read"):
        load_spot_trace(bad, Encoding.AVAILABLE_COUNT)
    with pytest.raises(TraceError, match="cannot read"):
        load_spot_trace(tmp_path / "none.json", Encoding.AVAILABLE_COUNT)
    with pytest.raises(TraceError, match="not a directory"):
        load_spot_traces(tmp_path / "nowhere")


def test_a_directory_reads_sorted_and_gaps_must_agree(tmp_path: Path) -> None:
    write(tmp_path / "b.json", [1, 0], gap=195)
    write(tmp_path / "a.json", [0, 1], gap=195)
    traces = load_spot_traces(tmp_path, Encoding.AVAILABLE_COUNT)
    assert [t.name for t in traces] == ["a", "b"]
    assert same_gap(traces) == 195
    write(tmp_path / "c.json", [0, 1], gap=600)
    with pytest.raises(TraceError, match="different gaps"):
        same_gap(load_spot_traces(tmp_path, Encoding.AVAILABLE_COUNT))
