"""Fixtures for the acquirer tests: an initialized data directory, the real app, test cards."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.domains import MIGRATIONS
from acquirer.keys import KeyMaterial, initialize, load_key_material
from acquirer.parcels.sql import SqlParcelStore
from acquirer.payments.sql import SqlPaymentStore
from acquirer.rentals.sql import SqlRentalStore
from acquirer.store import Engine, open_engine
from acquirer.store.sqlite import SqliteEngine
from acquirer.vault import TokenVault
from tests.acquirer.testkit import Api, TestCard
from tests.services import service_env

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
def engine(settings: Settings) -> Iterator[SqliteEngine]:
    """The data directory's SQLite database, migrated with every domain's steps."""
    engine = SqliteEngine(settings.database, MIGRATIONS)
    engine.migrate()
    yield engine
    engine.close()


@pytest.fixture
def store(engine: SqliteEngine) -> SqlPaymentStore:
    """The payments store (with the core's registry) on the SQLite database."""
    return SqlPaymentStore(engine)


@pytest.fixture
def rental_store(engine: SqliteEngine) -> SqlRentalStore:
    return SqlRentalStore(engine)


@pytest.fixture
def parcel_store(engine: SqliteEngine) -> SqlParcelStore:
    return SqlParcelStore(engine)


@pytest.fixture
def vault(settings: Settings, keys: KeyMaterial, store: SqlPaymentStore) -> TokenVault:
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


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL of the test PostgreSQL server whose search_path is a fresh, private schema."""
    import psycopg

    base = service_env("TAP_POSTGRES_URL")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    yield f"{base}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def backend_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The initialized settings, on SQLite or on a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return settings
    url: str = request.getfixturevalue("postgres_url")
    return dataclasses.replace(settings, database_url=url)


@pytest.fixture
def any_engine(backend_settings: Settings) -> Iterator[Engine]:
    """A migrated engine of each backend: the contract suites run once per backend."""
    engine = open_engine(backend_settings, MIGRATIONS)
    engine.migrate()
    yield engine
    engine.close()


@pytest.fixture
def any_store(any_engine: Engine) -> SqlPaymentStore:
    """The payments store (with the core's registry) on each backend."""
    return SqlPaymentStore(any_engine)


@pytest.fixture
def any_rental_store(any_engine: Engine) -> SqlRentalStore:
    return SqlRentalStore(any_engine)


@pytest.fixture
def any_parcel_store(any_engine: Engine) -> SqlParcelStore:
    return SqlParcelStore(any_engine)


@pytest.fixture
def any_vault(
    backend_settings: Settings, keys: KeyMaterial, any_store: SqlPaymentStore
) -> TokenVault:
    return TokenVault(
        any_store,
        keys.issuer_keys,
        keys.vault_key,
        bin_controller_id=backend_settings.bin_controller_id,
    )


@pytest.fixture
def any_new_card(any_vault: TokenVault, keys: KeyMaterial) -> Callable[..., TestCard]:
    """Provision a token in the parametrized backend and return the card that carries it."""

    def make(scheme: str = "visa", funding_pan: str | None = None) -> TestCard:
        record = any_vault.provision(funding_pan or FUNDING_PANS[scheme], scheme)
        key = keys.issuer_keys.for_pan(record.token)
        return TestCard(token=record.token, key=key, psn=record.psn, expiry=record.expiry)

    return make


@pytest.fixture
def any_api(backend_settings: Settings, any_store: SqlPaymentStore) -> Iterator[Api]:
    """The real app on the parametrized backend."""
    with TestClient(create_app(backend_settings)) as client:
        yield Api(client)
