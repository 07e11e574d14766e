"""Fixtures for the agent payment tests: a wallet device key, an agent key, a replay cache."""

from __future__ import annotations

import pytest

from emvcore.agentpay import MemoryReplayCache, generate_private_key
from emvcore.agentpay.keys import PrivateKey


@pytest.fixture(scope="session")
def wallet() -> PrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def agent() -> PrivateKey:
    return generate_private_key()


@pytest.fixture(scope="session")
def stranger() -> PrivateKey:
    """Another wallet's or another agent's key."""
    return generate_private_key()


@pytest.fixture
def replay() -> MemoryReplayCache:
    return MemoryReplayCache()
