"""Fixtures for the reader-stack tests: rigs over every backend, personalized applets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from card_emulation import EmvApplet
from emvcore.keyfile import IssuerKeySet, generate_test_issuer_keys
from tests.card_emulation.support import make_card
from tests.readers.stacks import RIGS, Rig


@pytest.fixture(scope="session")
def keys() -> IssuerKeySet:
    return generate_test_issuer_keys()


@pytest.fixture
def applet(keys: IssuerKeySet) -> EmvApplet:
    return EmvApplet(make_card(keys, "visa"))


@pytest.fixture(params=sorted(RIGS))
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Every reader stack in turn; the real ones need `make test`'s services."""
    rig = RIGS[request.param]()
    try:
        yield rig
    finally:
        rig.close()


@pytest.fixture(params=["pcsc", "nfc", "nfc-b"])
def real_stack(request: pytest.FixtureRequest) -> str:
    """The name of each stack that runs through a real reader library."""
    return str(request.param)
