"""The contract fixtures: one parameter per adapter registered in ``adapters.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contract.adapters import CLOUDS, STORES, CloudUnderTest, StoreUnderTest


@pytest.fixture(params=sorted(CLOUDS))
def cloud_under_test(request: pytest.FixtureRequest) -> Iterator[CloudUnderTest]:
    with CLOUDS[request.param](request) as cut:
        yield cut


@pytest.fixture(params=sorted(STORES))
def store_under_test(request: pytest.FixtureRequest) -> Iterator[StoreUnderTest]:
    with STORES[request.param](request) as sut:
        yield sut
