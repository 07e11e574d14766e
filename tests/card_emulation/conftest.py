"""Fixtures for the emulated card tests: test issuer keys and personalized cards."""

from __future__ import annotations

import pytest

from card_emulation import CardImage, EmvApplet
from emvcore.keyfile import IssuerKeySet, generate_test_issuer_keys
from tests.card_emulation.support import make_card


@pytest.fixture(scope="session")
def keys() -> IssuerKeySet:
    return generate_test_issuer_keys()


@pytest.fixture
def visa_card(keys: IssuerKeySet) -> CardImage:
    return make_card(keys, "visa")


@pytest.fixture
def mastercard_card(keys: IssuerKeySet) -> CardImage:
    return make_card(keys, "mastercard")


@pytest.fixture(params=["visa", "mastercard"])
def card(request: pytest.FixtureRequest, keys: IssuerKeySet) -> CardImage:
    return make_card(keys, request.param)


@pytest.fixture
def applet(card: CardImage) -> EmvApplet:
    return EmvApplet(card)
