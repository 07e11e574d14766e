"""The rentals store contract: one suite, run against every backend (SQLite and PostgreSQL).

The PostgreSQL cases use the private server `make test` starts (scripts/services/postgres.sh),
each in a fresh schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from acquirer.errors import (
    RegistryError,
    RentalStateError,
)
from acquirer.payments import ledger
from acquirer.registry import MerchantRow
from acquirer.rentals.rows import (
    BikeRequest,
    DebtRow,
    DebtStatus,
    RentalChange,
    RentalRow,
    RentalState,
    RentalStore,
)
from acquirer.rentals.tariff import Tariff

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


def _bikes_merchant(store: RentalStore) -> None:
    store.put_merchant(MerchantRow("BIKES", "Bikes", "7999", "EUR", "NL91ABNA0417164300", _AT))


def test_tariffs_round_trip(any_rental_store: RentalStore) -> None:
    with pytest.raises(RegistryError):
        any_rental_store.put_tariff("BIKES", _TARIFF, _AT)
    _bikes_merchant(any_rental_store)
    assert any_rental_store.get_tariff("BIKES") is None
    any_rental_store.put_tariff("BIKES", _TARIFF, _AT)
    cheaper = replace(_TARIFF, unlock_fee=0, daily_cap=None)
    any_rental_store.put_tariff("BIKES", cheaper, _AT)
    assert any_rental_store.get_tariff("BIKES") == cheaper


def test_rental_changes_are_idempotent_and_one_active_rental_per_par_and_bike(
    any_rental_store: RentalStore,
) -> None:
    _bikes_merchant(any_rental_store)
    first = _rental("rent_1", "PAR1", "B1")

    def insert(rental: RentalRow) -> Callable[..., RentalChange]:
        return lambda *_: RentalChange('{"ok":1}', rental=rental)

    result = any_rental_store.apply_rental_change(_bike_request("r1", "k1"), insert(first))
    assert not result.replayed and result.row.response_json == '{"ok":1}'
    again = any_rental_store.apply_rental_change(_bike_request("r2", "k1"), insert(first))
    assert again.replayed and again.row.id == "r1"
    assert any_rental_store.find_bike_request("DOCK1", "k1") == result.row
    assert any_rental_store.get_rental("rent_1") == first
    for clash in (_rental("rent_2", "PAR1", "B2"), _rental("rent_3", "PAR2", "B1")):
        with pytest.raises(RentalStateError):
            any_rental_store.apply_rental_change(
                _bike_request(f"x{clash.id}", clash.id), insert(clash)
            )
    assert any_rental_store.find_bike_request("DOCK1", "rent_2") is None  # nothing half-written
    # An offline unlock does not claim the account (the bike already left).
    offline = _rental("rent_4", "PAR1", "B4", offline=True)
    any_rental_store.apply_rental_change(_bike_request("r4", "k4"), insert(offline))
    assert any_rental_store.find_active_rental("BIKES", par="PAR1") == first
    assert any_rental_store.find_active_rental("BIKES", bike_id="B4") == offline
    assert any_rental_store.find_active_rental("OTHER", bike_id="B4") is None


def test_debts_journals_and_deny_list_in_one_change(any_rental_store: RentalStore) -> None:
    _bikes_merchant(any_rental_store)
    rental = _rental("rent_1", "PAR1", "B1")
    any_rental_store.apply_rental_change(
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

    any_rental_store.apply_rental_change(_bike_request("r2", "k2"), end, rental_id="rent_1")
    assert any_rental_store.find_active_rental("BIKES", par="PAR1") is None
    assert any_rental_store.par_denied("PAR1") and any_rental_store.get_debt("debt_1") == debt
    assert [d.par for d in any_rental_store.list_denied()] == ["PAR1"]
    assert any_rental_store.list_debts(par="PAR1", status=DebtStatus.OPEN) == [debt]
    assert any_rental_store.account_balances()["debts_receivable EUR"] == 410
    paid = replace(debt, status=DebtStatus.PAID, paid_at=_AT, payment_id="auth_x")

    def pay(_: object, __: object, locked: DebtRow | None) -> RentalChange:
        assert locked == debt
        return RentalChange(
            "{}",
            debt=paid,
            journals=(ledger.debt_recovery("BIKES", "EUR", 410),),
            lift="PAR1",
        )

    any_rental_store.apply_rental_change(_bike_request("r3", "k3"), pay, debt_id="debt_1")
    assert any_rental_store.get_debt("debt_1") == paid and not any_rental_store.par_denied("PAR1")
    totals = any_rental_store.ledger_totals()
    assert totals.journals == {"debt": 1, "debt_recovery": 1} and totals.unbalanced == 0
    assert any_rental_store.account_balances()["debts_receivable EUR"] == 0


def test_rental_and_deny_list_pages(any_rental_store: RentalStore) -> None:
    _bikes_merchant(any_rental_store)
    for n in range(5):
        rental = _rental(f"rent_{n}", f"PAR{n}", f"B{n}")
        any_rental_store.apply_rental_change(
            _bike_request(f"r{n}", f"k{n}"), lambda *_, r=rental: RentalChange("{}", rental=r)
        )
        any_rental_store.deny_par(f"PAR{n}", "test", _AT)
    page = any_rental_store.list_rentals(merchant_id="BIKES", limit=2)
    assert [r.id for r in page] == ["rent_0", "rent_1"]
    rest = any_rental_store.list_rentals(merchant_id="BIKES", after="rent_1", limit=10)
    assert [r.id for r in rest] == ["rent_2", "rent_3", "rent_4"]
    assert any_rental_store.list_rentals(states=(RentalState.ENDED,)) == []
    assert [d.par for d in any_rental_store.list_denied(after="PAR2", limit=2)] == ["PAR3", "PAR4"]
