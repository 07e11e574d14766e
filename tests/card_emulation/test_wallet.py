"""The phone wallet: reading a Tap! tag, and paying, honestly or not, through a fake acquirer.

The wallet's EMV data is checked with the acquirer's own ARQC verification
(``acquirer.payments.issuer``), so a wallet payment is proven to verify exactly as a card's does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from acquirer.payments.issuer import Issuer, parse_emv_data
from card_emulation import CardImage, EmvApplet
from card_emulation.errors import TagReadError, WalletError
from card_emulation.tag import Type4Tag
from card_emulation.wallet import (
    CheckoutSession,
    Conduct,
    PaymentResult,
    SessionPayment,
    SessionState,
    Wallet,
)
from emvcore import tlv
from emvcore.errors import TapLinkFormatError, TapMessageError
from emvcore.keyfile import IssuerKeySet
from emvcore.tags import Tag
from emvcore.tapmode import TapLink, build_link, encode_message, parse_link, verify_link

BASE = "https://pay.example/tap"
KEY = bytes(range(32))
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
NONCE = bytes.fromhex("A1B2C3D4")


def new_link(session: str = "cs_01KDVDNA00ABCDEFGHJKMN") -> TapLink:
    return build_link(BASE, "SHOP0001", session, KEY)


@dataclass
class FakeCheckout:
    """An acquirer's checkout sessions in memory: verifies what the real one will verify."""

    issuer: Issuer
    session: CheckoutSession
    payments: list[SessionPayment] = field(default_factory=list)

    def fetch_session(self, link: str) -> CheckoutSession:
        return self.session

    def pay_session(self, payment: SessionPayment) -> PaymentResult:
        self.payments.append(payment)
        link = parse_link(payment.link, BASE)
        if not verify_link(link, KEY):
            return PaymentResult(False, "link-forged")
        card = parse_emv_data(payment.emv_data)
        if self.issuer.verify_arqc(card, self.issuer.key_for(card.pan)) is None:
            return PaymentResult(False, "cryptogram-invalid")
        if card.amount != self.session.amount:
            return PaymentResult(False, "amount-mismatch")
        return PaymentResult(True, "approved", "auth_1")


def session(**changes: object) -> CheckoutSession:
    fields: dict[str, object] = {
        "session_id": "cs_01KDVDNA00ABCDEFGHJKMN", "terminal_id": "SHOP0001",
        "merchant_name": "Corner Café", "amount": 1250, "currency": "EUR",
        "state": SessionState.CREATED, "expires_at": NOW + timedelta(minutes=3), "nonce": NONCE,
    }  # fmt: skip
    fields.update(changes)
    return CheckoutSession(**fields)  # type: ignore[arg-type]


@pytest.fixture
def tag() -> Type4Tag:
    tag = Type4Tag()
    tag.present(encode_message(new_link().uri, "com.example.wallet"))
    return tag


def wallet(card: CardImage, conduct: Conduct = Conduct.HONEST, **options: object) -> Wallet:
    return Wallet(EmvApplet(card), base_url=BASE, conduct=conduct, clock=lambda: NOW, **options)  # type: ignore[arg-type]


@pytest.fixture
def checkout(keys: IssuerKeySet) -> FakeCheckout:
    return FakeCheckout(Issuer(keys), session())


def test_the_wallet_reads_the_link_from_the_tag(tag: Type4Tag, visa_card: CardImage) -> None:
    link = wallet(visa_card).read(tag.process_apdu)
    assert link is not None and link.session_id == "cs_01KDVDNA00ABCDEFGHJKMN"
    assert verify_link(link, KEY)


def test_an_idle_tag_has_nothing_to_pay(visa_card: CardImage, checkout: FakeCheckout) -> None:
    assert wallet(visa_card).tap(Type4Tag().process_apdu, checkout) is None
    assert checkout.payments == []


def test_a_tag_pointing_elsewhere_is_refused(visa_card: CardImage) -> None:
    tag = Type4Tag()
    evil = build_link("https://pay.example.evil/tap", "SHOP0001", "cs_01KDVDNA00ABCDEFGHJKMN", KEY)
    tag.present(encode_message(evil.uri, "com.example.wallet"))
    with pytest.raises(TapLinkFormatError, match="base URL"):
        wallet(visa_card).read(tag.process_apdu)


def test_a_tag_with_foreign_content_is_refused(visa_card: CardImage) -> None:
    tag = Type4Tag()
    tag.present(bytes.fromhex("D1010B5402656E68656C6C6F20776F726C64"))  # a text record
    with pytest.raises(TapMessageError):
        wallet(visa_card).read(tag.process_apdu)


def test_something_that_is_not_a_type4_tag_is_a_read_error(visa_card: CardImage) -> None:
    with pytest.raises(TagReadError) as refused:
        wallet(visa_card).read(EmvApplet(visa_card).process_apdu)
    assert refused.value.sw == 0x6A82


def test_an_honest_payment_verifies_as_a_card_arqc(
    tag: Type4Tag, card: CardImage, checkout: FakeCheckout
) -> None:
    run = wallet(card).tap(tag.process_apdu, checkout)
    assert run is not None and run.approved
    assert str(run.shown) == "Pay 12.50 EUR to Corner Café?"
    fields = tlv.flatten(checkout.payments[0].emv_data)
    assert fields[Tag.AMOUNT_AUTHORISED] == bytes.fromhex("000000001250")
    assert fields[Tag.TRANSACTION_CURRENCY_CODE] == bytes.fromhex("0978")
    assert fields[Tag.UNPREDICTABLE_NUMBER] == NONCE
    assert fields[Tag.ATC] == b"\x00\x01"
    assert parse_emv_data(checkout.payments[0].emv_data).pan == card.token


def test_the_cryptogram_covers_the_session_nonce(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    wallet(visa_card).tap(tag.process_apdu, checkout)
    data = checkout.payments[0].emv_data
    other = tlv.encode_many(
        [(t, bytes(4) if t == Tag.UNPREDICTABLE_NUMBER else v) for t, v in tlv.flatten(data).items()]
    )
    issuer = checkout.issuer
    card = parse_emv_data(other)
    assert issuer.verify_arqc(card, issuer.key_for(card.pan)) is None


def test_a_refusing_wallet_shows_but_does_not_pay(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    for w in (wallet(visa_card, Conduct.REFUSES), wallet(visa_card, balance=1249)):
        run = w.tap(tag.process_apdu, checkout)
        assert run is not None and run.refused == "insufficient-funds" and run.shown is not None
    assert checkout.payments == []


@pytest.mark.parametrize("state", [SessionState.EXPIRED, SessionState.PAID])
def test_an_honest_wallet_does_not_pay_a_closed_session(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout, state: SessionState
) -> None:
    checkout.session = session(state=state)
    run = wallet(visa_card).tap(tag.process_apdu, checkout)
    assert run is not None and run.refused == "session-not-open" and checkout.payments == []


def test_a_late_wallet_pays_an_expired_session(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    checkout.session = session(state=SessionState.EXPIRED, expires_at=NOW - timedelta(seconds=1))
    run = wallet(visa_card, Conduct.PAYS_EXPIRED).tap(tag.process_apdu, checkout)
    assert run is not None and len(checkout.payments) == 1


def test_a_double_payer_pays_twice_with_fresh_cryptograms(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    run = wallet(visa_card, Conduct.PAYS_TWICE).tap(tag.process_apdu, checkout)
    assert run is not None and len(run.results) == 2
    first, second = checkout.payments
    assert first.link == second.link and first.idempotency_key != second.idempotency_key
    atcs = [tlv.flatten(p.emv_data)[Tag.ATC] for p in checkout.payments]
    assert atcs == [b"\x00\x01", b"\x00\x02"]


def test_a_cryptogram_replayer_sends_the_same_emv_data_twice(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    wallet(visa_card, Conduct.REPLAYS_CRYPTOGRAM).tap(tag.process_apdu, checkout)
    first, second = checkout.payments
    assert first.emv_data == second.emv_data and first.idempotency_key != second.idempotency_key


def test_a_wrong_amount_is_caught(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    run = wallet(visa_card, Conduct.WRONG_AMOUNT).tap(tag.process_apdu, checkout)
    assert run is not None and run.results[0] == PaymentResult(False, "amount-mismatch")
    assert parse_emv_data(checkout.payments[0].emv_data).amount == 1251


def test_a_tampered_cryptogram_does_not_verify(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    run = wallet(visa_card, Conduct.TAMPERS_CRYPTOGRAM).tap(tag.process_apdu, checkout)
    assert run is not None and run.results[0] == PaymentResult(False, "cryptogram-invalid")


def test_a_forged_link_does_not_verify(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    run = wallet(visa_card, Conduct.FORGES_LINK).tap(tag.process_apdu, checkout)
    assert run is not None and run.results[0] == PaymentResult(False, "link-forged")


def test_a_link_replayer_presents_the_previous_tap_link(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    replayer = wallet(visa_card, Conduct.REPLAYS_LINK)
    replayer.tap(tag.process_apdu, checkout)
    tag.present(encode_message(new_link().uri, "com.example.wallet"))  # the next tap
    replayer.tap(tag.process_apdu, checkout)
    first, second = checkout.payments
    assert first.link == second.link  # the old nonce, presented again
    assert parse_link(first.link, BASE).nonce != replayer.read(tag.process_apdu).nonce  # type: ignore[union-attr]


def test_the_wallet_checks_the_acquirer_describes_the_tag_session(
    tag: Type4Tag, visa_card: CardImage, checkout: FakeCheckout
) -> None:
    checkout.session = session(session_id="cs_01KDVDNA00OTHERSESSION0")
    with pytest.raises(WalletError, match="another session"):
        wallet(visa_card).tap(tag.process_apdu, checkout)
