"""The store contract: one suite, run against every backend (SQLite and PostgreSQL).

The PostgreSQL cases use the private server `make test` starts (scripts/services/postgres.sh),
each in a fresh schema.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from acquirer import SchemaVersionError, Settings, TokenNotFoundError
from acquirer.errors import (
    LockerNotFoundError,
    NoCompartmentFreeError,
    ParcelStateError,
    RegistryError,
    RentalStateError,
)
from acquirer.parcels.rows import (
    CompartmentSize,
    CompartmentStatus,
    ParcelOperationRequest,
    ParcelRow,
    ParcelState,
    ParcelTx,
    StorageFeeRow,
)
from acquirer.payments import ledger
from acquirer.rentals.rows import (
    BikeRequest,
    DebtRow,
    DebtStatus,
    RentalChange,
    RentalRow,
    RentalState,
)
from acquirer.rentals.tariff import Tariff
from acquirer.store import AtcClaim, AuthorizationRow, RecordStatus, Store, TokenStatus, open_store
from acquirer.store.base import MerchantRow
from acquirer.store.sql import SqlStore
from acquirer.vault import TokenVault


def _row(id: str, key: str, terminal: str = "T1", approved: bool = False) -> AuthorizationRow:
    return AuthorizationRow(
        id=id,
        terminal_id=terminal,
        idempotency_key=key,
        request_hash="h",
        amount=1,
        currency="EUR",
        token_masked="489537******0000",
        par=None,
        atc=1,
        approved=approved,
        reason="approved" if approved else "token_unknown",
        response_code="00" if approved else "14",
        response_json='{"a":1}',
        created_at=datetime(2026, 11, 22, 12, 0, 0, 123000, tzinfo=UTC),
    )


def test_migrate_is_idempotent(any_store: Store) -> None:
    assert any_store.migrate() == any_store.migrate() >= 1


def test_newer_schema_is_refused(any_store: Store, backend_settings: Settings) -> None:
    assert isinstance(any_store, SqlStore)
    any_store._transact(lambda tx: tx.run("UPDATE schema_version SET version = 999"))
    other = open_store(backend_settings)
    try:
        with pytest.raises(SchemaVersionError):
            other.migrate()
    finally:
        other.close()


def test_tokens_round_trip(any_store: Store, any_vault: TokenVault) -> None:
    first = any_vault.provision("4111111111111111", "visa")
    second = any_vault.provision("5555555555554444", "mastercard")
    row = any_store.get_token(first.token)
    assert row is not None
    assert (row.token, row.par, row.status) == (first.token, first.par, TokenStatus.ACTIVE)
    assert row.created_at.tzinfo is not None
    assert any_store.put_token(row) is False  # the token number is taken
    assert [t.token for t in any_store.list_tokens()] == [first.token, second.token]
    assert any_vault.detokenize(first.token) == "4111111111111111"
    assert any_store.get_token("4895370000000005") is None


def test_token_status(any_store: Store, any_vault: TokenVault) -> None:
    token = any_vault.provision("4111111111111111", "visa").token
    any_store.set_token_status(token, TokenStatus.SUSPENDED)
    row = any_store.get_token(token)
    assert row is not None and row.status is TokenStatus.SUSPENDED
    with pytest.raises(TokenNotFoundError):
        any_store.set_token_status("4895370000000005", TokenStatus.ACTIVE)


def test_record_authorization_enforces_idempotency_and_atc_claims(
    any_store: Store, any_vault: TokenVault
) -> None:
    token = any_vault.provision("4111111111111111", "visa").token
    claim = AtcClaim(token, 5)
    first = _row("a1", "k1", approved=True)
    assert any_store.record_authorization(first, claim).status is RecordStatus.RECORDED
    assert any_store.find_authorization("T1", "k1") == first
    again = any_store.record_authorization(_row("a2", "k1"), None)
    assert again.status is RecordStatus.IDEMPOTENCY_KEY_EXISTS
    assert again.existing == first
    taken = any_store.record_authorization(_row("a3", "k3"), claim)
    assert taken.status is RecordStatus.ATC_ALREADY_CLAIMED
    assert any_store.find_authorization("T1", "k3") is None  # nothing half-written
    other_terminal = any_store.record_authorization(_row("a4", "k1", terminal="T2"), None)
    assert other_terminal.status is RecordStatus.RECORDED
    assert any_store.highest_atc(token) == 5 and any_store.atc_claimed(token, 5)
    assert not any_store.atc_claimed(token, 6) and any_store.highest_atc("0" * 16) is None
    assert any_store.count_authorizations() == 2


def test_concurrent_claims_of_one_atc_record_once(any_store: Store, any_vault: TokenVault) -> None:
    token = any_vault.provision("4111111111111111", "visa").token

    def attempt(n: int) -> RecordStatus:
        row = _row(f"race{n}", f"k{n}")
        row = replace(row, created_at=row.created_at + timedelta(seconds=n))
        return any_store.record_authorization(row, AtcClaim(token, 7)).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(attempt, range(16)))
    assert statuses.count(RecordStatus.RECORDED) == 1
    assert statuses.count(RecordStatus.ATC_ALREADY_CLAIMED) == 15
    assert any_store.count_authorizations() == 1


def test_concurrent_inserts_of_one_key_record_once(any_store: Store) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(
                lambda n: any_store.record_authorization(_row(f"id{n}", "same"), None), range(16)
            )
        )
    recorded = [r for r in results if r.status is RecordStatus.RECORDED]
    assert len(recorded) == 1
    winners = {r.existing.id for r in results if r.existing is not None}
    assert len(winners) == 1 and any_store.count_authorizations() == 1


# -- bike rentals and debts -------------------------------------------------------------------

_AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
_TARIFF = Tariff("EUR", 500, 100, 10, 30, 1500, 2880, 30000)


def _bike_request(id: str, key: str, terminal: str = "DOCK1") -> BikeRequest:
    return BikeRequest(id, terminal, key, "rental", f"hash-{key}", _AT)


def _rental(id: str, par: str | None, bike: str, offline: bool = False) -> RentalRow:
    return RentalRow(
        id=id,
        merchant_id="BIKES",
        terminal_id="DOCK1",
        dock_id="D1",
        bike_id=bike,
        par=par,
        authorization_id=None,
        payment_id=None,
        state=RentalState.UNLOCKING,
        tariff=_TARIFF,
        deposit=500,
        currency="EUR",
        offline=offline,
        created_at=_AT,
        updated_at=_AT,
    )


def _bikes_merchant(store: Store) -> None:
    store.put_merchant(MerchantRow("BIKES", "Bikes", "7999", "EUR", "NL91ABNA0417164300", _AT))


def test_tariffs_round_trip(any_store: Store) -> None:
    with pytest.raises(RegistryError):
        any_store.put_tariff("BIKES", _TARIFF, _AT)
    _bikes_merchant(any_store)
    assert any_store.get_tariff("BIKES") is None
    any_store.put_tariff("BIKES", _TARIFF, _AT)
    cheaper = replace(_TARIFF, unlock_fee=0, daily_cap=None)
    any_store.put_tariff("BIKES", cheaper, _AT)
    assert any_store.get_tariff("BIKES") == cheaper


def test_rental_changes_are_idempotent_and_one_active_rental_per_par_and_bike(
    any_store: Store,
) -> None:
    _bikes_merchant(any_store)
    first = _rental("rent_1", "PAR1", "B1")

    def insert(rental: RentalRow) -> Callable[..., RentalChange]:
        return lambda *_: RentalChange('{"ok":1}', rental=rental)

    result = any_store.apply_rental_change(_bike_request("r1", "k1"), insert(first))
    assert not result.replayed and result.row.response_json == '{"ok":1}'
    again = any_store.apply_rental_change(_bike_request("r2", "k1"), insert(first))
    assert again.replayed and again.row.id == "r1"
    assert any_store.find_bike_request("DOCK1", "k1") == result.row
    assert any_store.get_rental("rent_1") == first
    for clash in (_rental("rent_2", "PAR1", "B2"), _rental("rent_3", "PAR2", "B1")):
        with pytest.raises(RentalStateError):
            any_store.apply_rental_change(_bike_request(f"x{clash.id}", clash.id), insert(clash))
    assert any_store.find_bike_request("DOCK1", "rent_2") is None  # nothing half-written
    # An offline unlock does not claim the account (the bike already left).
    offline = _rental("rent_4", "PAR1", "B4", offline=True)
    any_store.apply_rental_change(_bike_request("r4", "k4"), insert(offline))
    assert any_store.find_active_rental("BIKES", par="PAR1") == first
    assert any_store.find_active_rental("BIKES", bike_id="B4") == offline
    assert any_store.find_active_rental("OTHER", bike_id="B4") is None


def test_debts_journals_and_deny_list_in_one_change(any_store: Store) -> None:
    _bikes_merchant(any_store)
    rental = _rental("rent_1", "PAR1", "B1")
    any_store.apply_rental_change(
        _bike_request("r1", "k1"), lambda *_: RentalChange("{}", rental=rental)
    )
    debt = DebtRow("debt_1", "rent_1", "BIKES", "PAR1", 410, "EUR", DebtStatus.OPEN, _AT)
    ended = replace(rental, state=RentalState.ENDED, fare=410, debt=410)

    def end(locked: RentalRow | None, *_: object) -> RentalChange:
        assert locked == rental
        return RentalChange(
            "{}",
            rental=ended,
            debt=debt,
            journals=(ledger.debt("BIKES", "EUR", 410),),
            deny=("PAR1", "unpaid rental rent_1"),
        )

    any_store.apply_rental_change(_bike_request("r2", "k2"), end, rental_id="rent_1")
    assert any_store.find_active_rental("BIKES", par="PAR1") is None
    assert any_store.par_denied("PAR1") and any_store.get_debt("debt_1") == debt
    assert [d.par for d in any_store.list_denied()] == ["PAR1"]
    assert any_store.list_debts(par="PAR1", status=DebtStatus.OPEN) == [debt]
    assert any_store.account_balances()["debts_receivable EUR"] == 410
    paid = replace(debt, status=DebtStatus.PAID, paid_at=_AT, payment_id="auth_x")

    def pay(_: object, __: object, locked: DebtRow | None) -> RentalChange:
        assert locked == debt
        return RentalChange(
            "{}",
            debt=paid,
            journals=(ledger.debt_recovery("BIKES", "EUR", 410),),
            lift="PAR1",
        )

    any_store.apply_rental_change(_bike_request("r3", "k3"), pay, debt_id="debt_1")
    assert any_store.get_debt("debt_1") == paid and not any_store.par_denied("PAR1")
    totals = any_store.ledger_totals()
    assert totals.journals == {"debt": 1, "debt_recovery": 1} and totals.unbalanced == 0
    assert any_store.account_balances()["debts_receivable EUR"] == 0


def test_rental_and_deny_list_pages(any_store: Store) -> None:
    _bikes_merchant(any_store)
    for n in range(5):
        rental = _rental(f"rent_{n}", f"PAR{n}", f"B{n}")
        any_store.apply_rental_change(
            _bike_request(f"r{n}", f"k{n}"), lambda *_, r=rental: RentalChange("{}", rental=r)
        )
        any_store.deny_par(f"PAR{n}", "test", _AT)
    page = any_store.list_rentals(merchant_id="BIKES", limit=2)
    assert [r.id for r in page] == ["rent_0", "rent_1"]
    rest = any_store.list_rentals(merchant_id="BIKES", after="rent_1", limit=10)
    assert [r.id for r in rest] == ["rent_2", "rent_3", "rent_4"]
    assert any_store.list_rentals(states=(RentalState.ENDED,)) == []
    assert [d.par for d in any_store.list_denied(after="PAR2", limit=2)] == ["PAR3", "PAR4"]


# -- parcel lockers -----------------------------------------------------------------------------


def _locker_store(store: Store) -> None:
    from acquirer.store.base import MerchantRow, TerminalRow, TerminalStatus

    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert store.put_merchant(MerchantRow("OP", "Lockers", "4215", "EUR", "X", at))
    row = TerminalRow("LOCK1", "OP", ("locker",), TerminalStatus.ACTIVE, None, at)
    assert store.put_terminal(row)


def _operation(key: str, n: int = 0) -> ParcelOperationRequest:
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC) + timedelta(seconds=n)
    return ParcelOperationRequest(f"pop_{key}_{n}", "COURIER", key, "register", None, "h", at)


def _parcel(parcel_id: str, compartment: str) -> ParcelRow:
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    return ParcelRow(
        id=parcel_id,
        locker_id="LOCK1",
        compartment_id=compartment,
        courier_terminal_id="COURIER",
        reference="R",
        recipient_par="PAR1",
        code_salt=b"s" * 16,
        code_hash=b"h" * 32,
        cod_amount=0,
        currency="EUR",
        fee_free_hours=None,
        fee_per_started_day=None,
        state=ParcelState.WAITING,
        registered_at=at,
        updated_at=at,
    )


def test_compartments_and_storage_fees(any_store: Store) -> None:
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with pytest.raises(LockerNotFoundError):
        any_store.add_compartments("LOCK1", CompartmentSize.M, 2, at)
    _locker_store(any_store)
    any_store.add_compartments("LOCK1", CompartmentSize.S, 2, at)
    added = any_store.add_compartments("LOCK1", CompartmentSize.L, 1, at)
    assert [(c.compartment_id, c.number) for c in added] == [("03", 3)]
    listed = any_store.list_compartments("LOCK1")
    assert [(c.compartment_id, c.size, c.status) for c in listed] == [
        ("01", "S", "free"),
        ("02", "S", "free"),
        ("03", "L", "free"),
    ]
    assert any_store.get_storage_fees("OP") is None
    any_store.set_storage_fees(StorageFeeRow("OP", "EUR", 48, 150, at))
    any_store.set_storage_fees(StorageFeeRow("OP", "EUR", 24, 200, at))
    assert any_store.get_storage_fees("OP") == StorageFeeRow("OP", "EUR", 24, 200, at)


def test_parcel_operations_replay_and_roll_back(any_store: Store) -> None:
    _locker_store(any_store)
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    any_store.add_compartments("LOCK1", CompartmentSize.M, 1, at)

    def register(ptx: ParcelTx) -> str:
        compartment = ptx.claim_compartment("LOCK1", (CompartmentSize.S, CompartmentSize.M))
        assert compartment is not None and compartment.status is CompartmentStatus.OCCUPIED
        ptx.insert_parcel(_parcel("parcel_1", compartment.compartment_id))
        ptx.audit("COURIER", "registered", "LOCK1", "parcel_1", "{}")
        return '{"ok":1}'

    first = any_store.run_parcel_operation(_operation("k1"), register)
    assert (first.replayed, first.row.response_json) == (False, '{"ok":1}')
    again = any_store.run_parcel_operation(_operation("k1", 1), register)
    assert again.replayed and again.row.id == first.row.id
    assert any_store.find_parcel_operation("COURIER", "k1") == first.row

    def failing(ptx: ParcelTx) -> str:
        ptx.audit("COURIER", "registered", "LOCK1", None, "{}")
        raise NoCompartmentFreeError("none")

    with pytest.raises(NoCompartmentFreeError):
        any_store.run_parcel_operation(_operation("k2"), failing)
    assert any_store.find_parcel_operation("COURIER", "k2") is None  # nothing written
    parcel = any_store.get_parcel("parcel_1")
    assert parcel is not None and parcel.code_hash == b"h" * 32 and parcel.code_salt == b"s" * 16
    assert [e.action for e in any_store.parcel_audit("parcel_1")] == ["registered"]
    assert [p.id for p in any_store.list_parcels(state=ParcelState.WAITING, merchant_id="OP")] == [
        "parcel_1"
    ]
    assert any_store.list_parcels(merchant_id="ELSE") == []
    assert any_store.list_parcels(after="parcel_1") == []
    assert any_store.count_parcels_by_locker(ParcelState.WAITING) == {"LOCK1": 1}


def test_a_failing_parcel_step_leaves_no_authorization(
    any_store: Store, any_vault: TokenVault
) -> None:
    token = any_vault.provision("4111111111111111", "visa").token

    def refuse(ptx: ParcelTx) -> str:
        raise ParcelStateError("not payable")

    with pytest.raises(ParcelStateError):
        any_store.record_parcel_authorization(
            _row("a1", "parcel/k1"), AtcClaim(token, 3), None, (), _operation("k1"), refuse
        )
    assert any_store.count_authorizations() == 0 and not any_store.atc_claimed(token, 3)
    result = any_store.record_parcel_authorization(
        _row("a2", "parcel/k2"), AtcClaim(token, 3), None, (), _operation("k2"), lambda t: "{}"
    )
    assert result.status is RecordStatus.RECORDED
    operation = any_store.find_parcel_operation("COURIER", "k2")
    assert operation is not None and operation.response_json == "{}"


def test_concurrent_registrations_never_share_a_compartment(any_store: Store) -> None:
    _locker_store(any_store)
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    any_store.add_compartments("LOCK1", CompartmentSize.M, 4, at)

    def register(n: int) -> str | None:
        def work(ptx: ParcelTx) -> str:
            compartment = ptx.claim_compartment("LOCK1", (CompartmentSize.M,))
            if compartment is None:
                raise NoCompartmentFreeError("full")
            ptx.insert_parcel(_parcel(f"parcel_{n:02d}", compartment.compartment_id))
            return compartment.compartment_id

        try:
            return any_store.run_parcel_operation(_operation(f"r{n}", n), work).row.response_json
        except NoCompartmentFreeError:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = [c for c in pool.map(register, range(12)) if c is not None]
    assert sorted(taken) == ["01", "02", "03", "04"]
    assert {c.status for c in any_store.list_compartments("LOCK1")} == {"occupied"}
