"""Checkout sessions against the real acquirer app, paid by every wallet conduct (issue 15).

The wallet reads the tag by its APDUs, learns the session from the acquirer and pays it
through :class:`~card_emulation.wallet.HttpCheckoutClient` over the in-process app; every
negative case is refused with its stable reason and charges nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings
from acquirer.domains import open_database
from acquirer.keys import KeyMaterial
from acquirer.payments.sql import SqlPaymentStore
from card_emulation import CardImage
from card_emulation.errors import CheckoutError
from card_emulation.wallet import Conduct, SessionPayment
from tests.acquirer.checkout.rig import (
    MERCHANT_NAME,
    TILL,
    Clock,
    Till,
    app_client,
    checkout_client,
    register_till,
    wallet,
)

PANS = ("4111111111111111", "4012888888881881")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def images(settings: Settings, keys: KeyMaterial) -> list[CardImage]:
    return register_till(settings, keys, PANS)


@pytest.fixture
def http(settings: Settings, clock: Clock, images: list[CardImage]) -> Iterator[TestClient]:
    with app_client(settings, clock) as client:
        yield client


@pytest.fixture
def till(http: TestClient) -> Till:
    return Till(http)


def captured(settings: Settings) -> list[tuple[str, int]]:
    """Every approved authorization's (id, amount) in the ledger's payments."""
    store = SqlPaymentStore(open_database(settings))
    try:
        rows = store.engine.read(
            lambda tx: tx.all("SELECT id, captured FROM payments WHERE terminal_id = ?", [TILL])
        )
    finally:
        store.engine.close()
    return [(row["id"], int(row["captured"])) for row in rows]


def pay(
    till: Till, http: TestClient, image: CardImage, settings: Settings, clock: Clock,
    conduct: Conduct = Conduct.HONEST, session_id: str | None = None,
) -> tuple[str, Any]:  # fmt: skip
    session_id = session_id or till.create()
    till.present(session_id)
    run = wallet(image, settings, clock, conduct).tap(till.tag.process_apdu, checkout_client(http))
    return session_id, run


def test_an_honest_wallet_pays_and_the_terminal_learns_it(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id, run = pay(till, http, images[0], settings, clock)
    assert run is not None and run.approved, run
    assert str(run.shown) == f"Pay 12.50 EUR to {MERCHANT_NAME}?"
    session = till.session(session_id, wait=5)
    assert session["state"] == "paid"
    assert session["authorization_id"] == run.results[0].authorization_id
    assert captured(settings) == [(run.results[0].authorization_id, 1250)]


def test_the_tag_content_changes_with_every_tap(
    till: Till, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id = till.create()
    till.present(session_id)
    reader = wallet(images[0], settings, clock)
    first, second = reader.read(till.tag.process_apdu), reader.read(till.tag.process_apdu)
    assert first is not None and second is not None
    assert first.session_id == second.session_id == session_id
    assert first.nonce != second.nonce and first.mac != second.mac


def test_a_refusing_wallet_charges_nothing(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id, run = pay(till, http, images[0], settings, clock, Conduct.REFUSES)
    assert run.refused == "insufficient-funds" and run.results == ()
    assert till.session(session_id)["state"] == "created"
    assert captured(settings) == []


def test_a_double_payer_is_charged_once(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    _, run = pay(till, http, images[0], settings, clock, Conduct.PAYS_TWICE)
    assert [(r.approved, r.reason) for r in run.results] == [
        (True, "approved"),
        (False, "session_already_paid"),
    ]
    assert len(captured(settings)) == 1


def read_then_pay(
    till: Till, http: TestClient, image: CardImage, settings: Settings, clock: Clock,
    conduct: Conduct, *, seconds_later: float = 0,
) -> tuple[str, Any]:  # fmt: skip
    """Tap (read the link), let ``seconds_later`` pass, then pay as ``conduct`` says."""
    session_id = till.create()
    till.present(session_id)
    payer = wallet(image, settings, clock, conduct)
    link = payer.read(till.tag.process_apdu)
    assert link is not None
    clock.advance(seconds_later)
    return session_id, payer.pay(link, checkout_client(http))


def test_an_expired_session_cannot_be_paid(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id, run = read_then_pay(
        till, http, images[0], settings, clock, Conduct.PAYS_EXPIRED,
        seconds_later=settings.checkout_session_seconds,
    )  # fmt: skip
    assert [(r.approved, r.reason) for r in run.results] == [(False, "session_expired")]
    assert till.session(session_id)["state"] == "expired"
    assert captured(settings) == []


def test_a_cancelled_session_cannot_be_paid(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id = till.create()
    till.present(session_id)
    payer = wallet(images[0], settings, clock, Conduct.PAYS_EXPIRED)
    link = payer.read(till.tag.process_apdu)
    assert link is not None
    assert till.cancel(session_id)["state"] == "cancelled"
    run = payer.pay(link, checkout_client(http))
    assert [(r.approved, r.reason) for r in run.results] == [(False, "session_cancelled")]
    assert captured(settings) == []


def test_a_cancel_that_loses_to_the_payment_says_paid(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id, run = pay(till, http, images[0], settings, clock)
    assert run.approved
    assert till.cancel(session_id)["state"] == "paid"


@pytest.mark.parametrize(
    ("conduct", "reason"),
    [
        (Conduct.WRONG_AMOUNT, "amount_mismatch"),
        (Conduct.FORGES_LINK, "link_forged"),
        (Conduct.TAMPERS_CRYPTOGRAM, "cryptogram_invalid"),
    ],
)
def test_a_misbehaving_wallet_is_refused(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock,
    conduct: Conduct, reason: str, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    session_id, run = pay(till, http, images[0], settings, clock, conduct)
    assert [(r.approved, r.reason) for r in run.results] == [(False, reason)]
    assert till.session(session_id)["state"] == "created"
    assert captured(settings) == []
    if conduct is Conduct.FORGES_LINK:
        assert "reason=link_forged" in caplog.text
        link = run.payments[0].link
        assert link not in caplog.text and link.rpartition("m=")[2] not in caplog.text


def test_a_replayed_cryptogram_is_refused(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    _, run = pay(till, http, images[0], settings, clock, Conduct.REPLAYS_CRYPTOGRAM)
    assert [(r.approved, r.reason) for r in run.results] == [
        (True, "approved"),
        (False, "session_already_paid"),
    ]
    # The same EMV data on another session: made for another session nonce.
    other = till.create()
    uri = till.link(other)
    replayed = replace(run.payments[0], link=uri, session_id=other, idempotency_key="again-1")
    result = checkout_client(http).pay_session(replayed)
    assert (result.approved, result.reason) == (False, "cryptogram_replayed")
    assert len(captured(settings)) == 1


def test_a_replayed_link_is_refused(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    # A genuine link of an earlier session, presented for the session the tag names now.
    replayer = wallet(images[0], settings, clock, Conduct.REPLAYS_LINK)
    client = checkout_client(http)
    first = till.create()
    till.present(first)
    assert replayer.tap(till.tag.process_apdu, client).approved  # type: ignore[union-attr]
    second = till.create()
    till.present(second)
    run = replayer.tap(till.tag.process_apdu, client)
    assert run is not None and [(r.approved, r.reason) for r in run.results] == [
        (False, "link_replayed")
    ]
    # A link whose nonce a declined payment used up.
    third = till.create()
    till.present(third)
    link = wallet(images[1], settings, clock).read(till.tag.process_apdu)
    assert link is not None
    declined = wallet(images[1], settings, clock, Conduct.WRONG_AMOUNT).pay(link, client)
    assert declined.results[0].reason == "amount_mismatch"
    again = wallet(images[1], settings, clock).pay(link, client)
    assert [(r.approved, r.reason) for r in again.results] == [(False, "link_replayed")]
    assert till.session(third)["state"] == "created"
    assert len(captured(settings)) == 1


def test_a_wrong_currency_is_refused(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id = till.create()
    till.present(session_id)
    payer = wallet(images[0], settings, clock)
    link = payer.read(till.tag.process_apdu)
    assert link is not None
    client = checkout_client(http)
    session = client.fetch_session(link.uri)
    payment = SessionPayment(
        link=link.uri, session_id=session_id, idempotency_key="usd-1",
        emv_data=payer.emv_data(session.amount, "USD", session.nonce),
    )  # fmt: skip
    result = client.pay_session(payment)
    assert (result.approved, result.reason) == (False, "currency_mismatch")


def test_a_payment_retried_with_its_key_is_answered_once(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    _, run = pay(till, http, images[0], settings, clock)
    payment = run.payments[0]
    body = {
        "link": payment.link,
        "session_id": payment.session_id,
        "emv_data": payment.emv_data.hex(),
    }
    again = http.post(
        "/v1/checkout/payments", json=body, headers={"Idempotency-Key": payment.idempotency_key}
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["approved"] is True
    assert again.json()["authorization_id"] == run.results[0].authorization_id
    assert len(captured(settings)) == 1


def test_creating_a_session_is_idempotent(till: Till, http: TestClient) -> None:
    first = till.create(key="order-7")
    assert till.create(key="order-7") == first
    other = http.post(
        "/v1/checkout/sessions",
        json={"terminal_id": TILL, "amount": 999, "currency": "EUR"},
        headers={"Idempotency-Key": "order-7"},
    )
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"
    assert till.create(key="order-8") != first


def test_session_ids_are_unguessable(till: Till) -> None:
    ids = {till.create() for _ in range(20)}
    assert len(ids) == 20
    assert len({i[-16:] for i in ids}) == 20  # the random part differs, not only the time


def test_a_forged_link_shows_nothing_to_the_wallet(
    till: Till, http: TestClient, settings: Settings
) -> None:
    session_id = till.create()
    uri = till.link(session_id)
    forged = uri[:-2] + ("AA" if not uri.endswith("AA") else "BA")
    response = http.get("/v1/checkout/link", params={"uri": forged})
    assert response.status_code == 403 and response.json()["code"] == "checkout_link_refused"
    with pytest.raises(CheckoutError) as refused:
        checkout_client(http).fetch_session(forged)
    assert refused.value.code == "checkout_link_refused"
    unknown = http.get("/v1/checkout/link", params={"uri": "https://evil.example/tap/v1/x"})
    assert unknown.status_code == 403


def test_the_terminal_waits_for_the_result(
    till: Till, http: TestClient, images: list[CardImage], settings: Settings, clock: Clock
) -> None:
    session_id = till.create()
    till.present(session_id)
    answers: list[dict[str, Any]] = []
    waiter = threading.Thread(target=lambda: answers.append(till.session(session_id, wait=30)))
    waiter.start()
    run = wallet(images[0], settings, clock).tap(till.tag.process_apdu, checkout_client(http))
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert run is not None and run.approved
    assert answers[0]["state"] == "paid"
    assert answers[0]["authorization_id"] == run.results[0].authorization_id
