"""Session fixtures: the two test chains of :mod:`tests.emvcore.oda.support`."""

from __future__ import annotations

import pytest

from tests.emvcore.oda.support import Chain, make_chain


@pytest.fixture(scope="session")
def chain_remainders() -> Chain:
    return make_chain(1408, 1152, 1024)


@pytest.fixture(scope="session")
def chain_fits() -> Chain:
    return make_chain(1984, 1536, 1024, issuer_e=65537)


@pytest.fixture(scope="session", params=["remainders", "fits"])
def chain(request: pytest.FixtureRequest, chain_remainders: Chain, chain_fits: Chain) -> Chain:
    return chain_remainders if request.param == "remainders" else chain_fits
