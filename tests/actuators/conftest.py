"""Fixtures for the actuator tests: a rig over every backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.actuators.rigs import RIGS, Rig, make_rig


@pytest.fixture(params=sorted(RIGS))
def backend(request: pytest.FixtureRequest) -> str:
    """The name of each actuator backend in turn (``mqtt`` needs `make test`'s broker)."""
    return str(request.param)


@pytest.fixture
def rig(backend: str) -> Iterator[Rig]:
    """A controller with units D1 and D2 behind each backend in turn."""
    rig = make_rig(backend)
    try:
        yield rig
    finally:
        rig.close()
