"""Fixtures for the acquirer tests: an initialized data directory, the real app, test cards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.keys import KeyMaterial, initialize, load_key_material
from acquirer.store.sqlite import SqliteStore
from acquirer.vault import TokenVault
from tests.acquirer.testkit import Api, TestCard

FUNDING_PANS = {"visa": "4111111111111111", "mastercard": "5555555555554444"}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "acquirer")
    initialize(settings)
    return settings


@pytest.fixture
def keys(settings: Settings) -> KeyMaterial:
    return load_key_material(settings)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqliteStore]:
    store = SqliteStore(settings.database)
    store.migrate()
    yield store
    store.close()


@pytest.fixture
def vault(settings: Settings, keys: KeyMaterial, store: SqliteStore) -> TokenVault:
    return TokenVault(
        store, keys.issuer_keys, keys.vault_key, bin_controller_id=settings.bin_controller_id
    )


@pytest.fixture
def new_card(vault: TokenVault, keys: KeyMaterial) -> Callable[..., TestCard]:
    """Provision a token in the vault and return the card that carries it."""

    def make(scheme: str = "visa", funding_pan: str | None = None) -> TestCard:
        record = vault.provision(funding_pan or FUNDING_PANS[scheme], scheme)
        key = keys.issuer_keys.for_pan(record.token)
        return TestCard(token=record.token, key=key, psn=record.psn, expiry=record.expiry)

    return make


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
