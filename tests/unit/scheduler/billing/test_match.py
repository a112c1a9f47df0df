"""Which attempt a billed line pays for: tags first, then the resource id."""

from __future__ import annotations

import pandas as pd

from scheduler.billing import match_attempts

ATTEMPTS = {"a-1", "a-2", "a-3"}
NODES = {"i-0abc": "a-2", "ln-42": "a-3"}


def frame(rows: list[tuple[object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["Tags", "ResourceId"])


def test_the_attempt_tag_matches_in_every_spelling_clouds_export_it() -> None:
    got = match_attempts(
        frame(
            [
                ({"skybatch-attempt": "a-1"}, None),
                ({"user:skybatch-attempt": "a-1"}, "i-unknown"),  # AWS CUR/FOCUS user tags
                ({"tag:skybatch-attempt": "a-1"}, None),
            ]
        ),
        ATTEMPTS,
        NODES,
    )
    assert got == ["a-1", "a-1", "a-1"]


def test_without_a_tag_the_resource_id_matches_as_is_or_as_the_tail_of_an_arn() -> None:
    got = match_attempts(
        frame(
            [
                ({}, "i-0abc"),
                ({}, "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc"),
                ({}, "/subscriptions/s/resourceGroups/g/providers/x/virtualMachines/ln-42"),
                (None, "ln-42"),
            ]
        ),
        ATTEMPTS,
        NODES,
    )
    assert got == ["a-2", "a-2", "a-3", "a-3"]


def test_foreign_lines_and_tags_naming_unknown_attempts_match_nothing() -> None:
    got = match_attempts(
        frame(
            [
                ({"skybatch-attempt": "a-999"}, None),  # not one of ours (another install)
                ({"team": "x"}, "i-other"),
                ({}, None),
                ({}, ""),
            ]
        ),
        ATTEMPTS,
        NODES,
    )
    assert got == [None, None, None, None]


def test_a_tag_wins_over_the_resource_id() -> None:
    got = match_attempts(frame([({"skybatch-attempt": "a-1"}, "i-0abc")]), ATTEMPTS, NODES)
    assert got == ["a-1"]
