"""The parcels store contract: one suite, run against every backend (SQLite and PostgreSQL).

The PostgreSQL cases use the private server `make test` starts (scripts/services/postgres.sh),
each in a fresh schema.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from acquirer.errors import (
    LockerNotFoundError,
    NoCompartmentFreeError,
    ParcelStateError,
)
from acquirer.parcels.rows import (
    CompartmentSize,
    CompartmentStatus,
    ParcelOperationRequest,
    ParcelRow,
    ParcelState,
    ParcelStore,
    ParcelTx,
    StorageFeeRow,
)
from acquirer.payments.rows import AtcClaim, RecordStatus
from acquirer.registry import MerchantRow
from acquirer.vault import TokenVault
from tests.acquirer.payments.test_store_contract import _row

# -- parcel lockers -----------------------------------------------------------------------------


def _locker_store(store: ParcelStore) -> None:
    from acquirer.registry import TerminalRow, TerminalStatus

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


def test_compartments_and_storage_fees(any_parcel_store: ParcelStore) -> None:
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    with pytest.raises(LockerNotFoundError):
        any_parcel_store.add_compartments("LOCK1", CompartmentSize.M, 2, at)
    _locker_store(any_parcel_store)
    any_parcel_store.add_compartments("LOCK1", CompartmentSize.S, 2, at)
    added = any_parcel_store.add_compartments("LOCK1", CompartmentSize.L, 1, at)
    assert [(c.compartment_id, c.number) for c in added] == [("03", 3)]
    listed = any_parcel_store.list_compartments("LOCK1")
    assert [(c.compartment_id, c.size, c.status) for c in listed] == [
        ("01", "S", "free"),
        ("02", "S", "free"),
        ("03", "L", "free"),
    ]
    assert any_parcel_store.get_storage_fees("OP") is None
    any_parcel_store.set_storage_fees(StorageFeeRow("OP", "EUR", 48, 150, at))
    any_parcel_store.set_storage_fees(StorageFeeRow("OP", "EUR", 24, 200, at))
    assert any_parcel_store.get_storage_fees("OP") == StorageFeeRow("OP", "EUR", 24, 200, at)


def test_parcel_operations_replay_and_roll_back(any_parcel_store: ParcelStore) -> None:
    _locker_store(any_parcel_store)
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    any_parcel_store.add_compartments("LOCK1", CompartmentSize.M, 1, at)

    def register(ptx: ParcelTx) -> str:
        compartment = ptx.claim_compartment("LOCK1", (CompartmentSize.S, CompartmentSize.M))
        assert compartment is not None and compartment.status is CompartmentStatus.OCCUPIED
        ptx.insert_parcel(_parcel("parcel_1", compartment.compartment_id))
        ptx.audit("COURIER", "registered", "LOCK1", "parcel_1", "{}")
        return '{"ok":1}'

    first = any_parcel_store.run_parcel_operation(_operation("k1"), register)
    assert (first.replayed, first.row.response_json) == (False, '{"ok":1}')
    again = any_parcel_store.run_parcel_operation(_operation("k1", 1), register)
    assert again.replayed and again.row.id == first.row.id
    assert any_parcel_store.find_parcel_operation("COURIER", "k1") == first.row

    def failing(ptx: ParcelTx) -> str:
        ptx.audit("COURIER", "registered", "LOCK1", None, "{}")
        raise NoCompartmentFreeError("none")

    with pytest.raises(NoCompartmentFreeError):
        any_parcel_store.run_parcel_operation(_operation("k2"), failing)
    assert any_parcel_store.find_parcel_operation("COURIER", "k2") is None  # nothing written
    parcel = any_parcel_store.get_parcel("parcel_1")
    assert parcel is not None and parcel.code_hash == b"h" * 32 and parcel.code_salt == b"s" * 16
    assert [e.action for e in any_parcel_store.parcel_audit("parcel_1")] == ["registered"]
    assert [
        p.id for p in any_parcel_store.list_parcels(state=ParcelState.WAITING, merchant_id="OP")
    ] == ["parcel_1"]
    assert any_parcel_store.list_parcels(merchant_id="ELSE") == []
    assert any_parcel_store.list_parcels(after="parcel_1") == []
    assert any_parcel_store.count_parcels_by_locker(ParcelState.WAITING) == {"LOCK1": 1}


def test_a_failing_parcel_step_leaves_no_authorization(
    any_parcel_store: ParcelStore, any_vault: TokenVault
) -> None:
    token = any_vault.provision("4111111111111111", "visa").token

    def refuse(ptx: ParcelTx) -> str:
        raise ParcelStateError("not payable")

    with pytest.raises(ParcelStateError):
        any_parcel_store.record_parcel_authorization(
            _row("a1", "parcel/k1"), AtcClaim(token, 3), None, (), _operation("k1"), refuse
        )
    assert any_parcel_store.count_authorizations() == 0 and not any_parcel_store.atc_claimed(
        token, 3
    )
    result = any_parcel_store.record_parcel_authorization(
        _row("a2", "parcel/k2"), AtcClaim(token, 3), None, (), _operation("k2"), lambda t: "{}"
    )
    assert result.status is RecordStatus.RECORDED
    operation = any_parcel_store.find_parcel_operation("COURIER", "k2")
    assert operation is not None and operation.response_json == "{}"


def test_concurrent_registrations_never_share_a_compartment(any_parcel_store: ParcelStore) -> None:
    _locker_store(any_parcel_store)
    at = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    any_parcel_store.add_compartments("LOCK1", CompartmentSize.M, 4, at)

    def register(n: int) -> str | None:
        def work(ptx: ParcelTx) -> str:
            compartment = ptx.claim_compartment("LOCK1", (CompartmentSize.M,))
            if compartment is None:
                raise NoCompartmentFreeError("full")
            ptx.insert_parcel(_parcel(f"parcel_{n:02d}", compartment.compartment_id))
            return compartment.compartment_id

        try:
            return any_parcel_store.run_parcel_operation(
                _operation(f"r{n}", n), work
            ).row.response_json
        except NoCompartmentFreeError:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = [c for c in pool.map(register, range(12)) if c is not None]
    assert sorted(taken) == ["01", "02", "03", "04"]
    assert {c.status for c in any_parcel_store.list_compartments("LOCK1")} == {"occupied"}
