"""``--faults`` text: what ``Faults.parse`` reads, and how serve refuses bad input."""

from __future__ import annotations

import pytest

from adapters.faults import Faults, FaultsSyntaxError
from scheduler.cli.main import main


def test_parse_reads_every_part() -> None:
    faults = Faults.parse("throttle=0.1, no-capacity=asia-east1+europe-west4 ,seed=7")
    assert faults.throttle_rate == 0.1
    assert set(faults.no_capacity_regions) == {"asia-east1", "europe-west4"}
    assert faults.seed == 7


def test_parse_defaults_to_no_faults() -> None:
    assert Faults.parse("") == Faults(no_capacity_regions=frozenset())
    assert Faults.parse("seed=3").throttle_rate == 0.0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("throttle=2", "rate in 0..1"),
        ("throttle=x", "rate in 0..1"),
        ("seed=1.5", "integer"),
        ("no-capacity=", "at least one region"),
        ("preempt=0.2", "expected throttle=RATE"),
        ("throttle", "expected throttle=RATE"),
        ("seed=1,seed=2", "given twice"),
    ],
)
def test_parse_names_the_bad_part(text: str, problem: str) -> None:
    with pytest.raises(FaultsSyntaxError, match=problem):
        Faults.parse(text)


def test_serve_refuses_bad_faults_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--bind", "127.0.0.1:0", "--faults", "throttle=lots"]) == 2
    assert "--faults" in capsys.readouterr().err
