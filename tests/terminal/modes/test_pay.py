"""pay(): tap, kernel, a MockTransport acquirer computing a real tag 91, EXTERNAL AUTHENTICATE."""

from __future__ import annotations

import json

import httpx
import pytest

from card_emulation import CardImage, EmvApplet, profile
from card_emulation.faults import HostileCard, Rule, status
from emvcore import tlv
from emvcore.crypto.cvn import cryptogram_version
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Cvm, Kernel, Outcome, Transaction, UiRequest
from terminal.kernel.outcome import DEFAULT_UI, ONE_CARD_ONLY, SEE_PHONE
from terminal.modes.pay.payment import AUTHORISING, MAX_PRESENTATIONS, PRESENT_CARD, pay
from terminal.online import AcquirerClient
from terminal.readers.emulated import LoopbackReader
from terminal.tap import REMOVE_CARD, WELCOME
from tests.card_emulation.support import ac_data, make_card
from tests.terminal.support import RecordingReader


class FakeAcquirer:
    """Verifies the ARQC with the card's ICC master key and answers with a real tag 91."""

    def __init__(
        self,
        card: CardImage,
        *,
        approve: bool = True,
        reason: str = "approved",
        flip_bit: bool = False,
        with_tag_91: bool = True,
    ) -> None:
        self.card = card
        self.version = cryptogram_version(profile(card.profile).cryptogram_version)
        self.approve, self.reason, self.flip_bit, self.with_tag_91 = (
            approve,
            reason,
            flip_bit,
            with_tag_91,
        )
        self.requests: list[dict[str, object]] = []
        self.reversals: list[tuple[str, dict[str, object]]] = []
        self.keys: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == "/v1/reversals":
            self.reversals.append((request.headers["Idempotency-Key"], body))
            return httpx.Response(200, json={"operation_id": "op_1", "kind": "reversal"})
        self.requests.append(body)
        self.keys.append(request.headers["Idempotency-Key"])
        record = tlv.flatten(bytes.fromhex(body["emv_data"]))
        data = ac_data(record, record[0x82], record[0x9F36], record[0x9F10])
        arqc = record[0x9F26]
        verified = self.version.verify_ac(self.card.icc_mk, data, arqc)
        approved = self.approve and verified
        tag_91 = self.version.issuer_authentication_data(
            self.card.icc_mk, data, arqc, approved=approved, arc=b"00" if approved else b"05"
        )
        if self.flip_bit:
            tag_91 = bytes([tag_91[0] ^ 0x01]) + tag_91[1:]
        return httpx.Response(
            200,
            json={
                "authorization_id": "auth_01JD0000000000000000000001",
                "approved": approved,
                "response_code": "00" if approved else "05",
                "reason": self.reason if verified else "cryptogram_invalid",
                "issuer_authentication_data": tag_91.hex().upper()
                if self.with_tag_91 and verified
                else None,
                "token_masked": "masked",
                "par": None,
                "atc": int.from_bytes(record[0x9F36], "big"),
                "cryptogram_verified": verified,
            },
        )


def client(handler: object) -> AcquirerClient:
    return AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_approved_with_arpc_verified(applet: EmvApplet, transaction: Transaction) -> None:
    acquirer = FakeAcquirer(applet.card)
    reader = RecordingReader(applet)
    result = pay(reader, transaction, terminal_id="TERM0001", client=client(acquirer), wait=0.1)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.APPROVED,
        "approved",
        "Approved",
    )
    assert result.arpc_verified is True
    assert result.authorization is not None and result.authorization.cryptogram_verified
    assert reader.log[-1][0][1] == 0x82 and reader.log[-1][1] == b"\x90\x00"
    assert acquirer.requests[0]["terminal_id"] == "TERM0001"
    assert (acquirer.requests[0]["amount"], acquirer.requests[0]["currency"]) == (1250, "EUR")
    summary = result.to_dict()
    assert summary["outcome"] == "approved"
    assert summary["amount_text"] == "12.50 EUR"
    assert summary["aid"] == applet.profile.aid.hex().upper()
    assert summary["atc"] == 1
    assert (summary["arqc_verified"], summary["arpc_verified"]) == (True, True)
    assert applet.card.token not in json.dumps(summary)


def test_flipped_tag_91_is_declined(applet: EmvApplet, transaction: Transaction) -> None:
    acquirer = FakeAcquirer(applet.card, flip_bit=True)
    result = pay(
        LoopbackReader(applet),
        transaction,
        terminal_id="TERM0001",
        client=client(acquirer),
        wait=0.1,
    )
    assert (result.outcome, result.reason, result.message) == (
        Outcome.DECLINED,
        "issuer_authentication_failed",
        "Not authorised",
    )
    assert result.arpc_verified is False
    assert result.authorization is not None and result.authorization.approved is True
    # The acquirer holds an approval the terminal refused: it is reversed, by its key.
    assert result.reversal == "reversed"
    [(reversal_key, body)] = acquirer.reversals
    assert body == {"terminal_id": "TERM0001", "original_idempotency_key": acquirer.keys[0]}
    assert reversal_key != acquirer.keys[0]


class LostAnswer:
    """The acquirer acts on the authorization, but its answer never reaches the terminal."""

    def __init__(self, acquirer: FakeAcquirer, error: type[httpx.TransportError]) -> None:
        self.acquirer, self.error = acquirer, error

    def __call__(self, request: httpx.Request) -> httpx.Response:
        response = self.acquirer(request)
        if request.url.path == "/v1/authorizations":
            raise self.error("answer lost", request=request)
        return response


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_lost_answer_is_reversed(
    applet: EmvApplet, transaction: Transaction, error: type[httpx.TransportError]
) -> None:
    acquirer = FakeAcquirer(applet.card)
    result = pay(LoopbackReader(applet), transaction, terminal_id="TERM0001",
                 client=client(LostAnswer(acquirer, error)), wait=0.1)  # fmt: skip
    assert (result.outcome, result.reason, result.reversal) == (
        Outcome.DECLINED, "acquirer_unavailable", "reversed"
    )  # fmt: skip
    [(_, body)] = acquirer.reversals
    assert body["original_idempotency_key"] == acquirer.keys[0]


def test_no_connection_needs_no_reversal(applet: EmvApplet, transaction: Transaction) -> None:
    calls: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ConnectError("refused", request=request)

    result = pay(LoopbackReader(applet), transaction, terminal_id="TERM0001",
                 client=client(refuse), wait=0.1)  # fmt: skip
    assert (result.outcome, result.reason, result.reversal) == (
        Outcome.DECLINED, "acquirer_unavailable", None
    )  # fmt: skip
    assert calls == ["/v1/authorizations", "/v1/authorizations"]


def test_an_undeliverable_reversal_is_pending(applet: EmvApplet, transaction: Transaction) -> None:
    def lost_then_down(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/authorizations":
            raise httpx.ReadTimeout("answer lost", request=request)
        raise httpx.ConnectError("down", request=request)

    result = pay(LoopbackReader(applet), transaction, terminal_id="TERM0001",
                 client=client(lost_then_down), wait=0.1)  # fmt: skip
    assert result.reversal == "pending"


def test_tampered_card_is_declined_by_the_acquirer(
    keys: IssuerKeySet, transaction: Transaction
) -> None:
    card = make_card(keys, "visa", tamper=True)
    result = pay(
        LoopbackReader(EmvApplet(card)),
        transaction,
        terminal_id="T1",
        client=client(FakeAcquirer(card)),
        wait=0.1,
    )
    assert (result.outcome, result.reason) == (Outcome.DECLINED, "cryptogram_invalid")
    assert result.arpc_verified is None
    assert result.to_dict()["arqc_verified"] is False


def test_acquirer_decline_keeps_its_reason(applet: EmvApplet, transaction: Transaction) -> None:
    acquirer = FakeAcquirer(applet.card, approve=False, reason="insufficient_funds")
    result = pay(
        LoopbackReader(applet), transaction, terminal_id="T1", client=client(acquirer), wait=0.1
    )
    assert (result.outcome, result.reason, result.message) == (
        Outcome.DECLINED,
        "insufficient_funds",
        "Not authorised",
    )
    assert result.authorization is not None and result.authorization.response_code == "05"
    # The declining tag 91 is still genuine: the card accepts it.
    assert result.arpc_verified is True


def test_approval_without_tag_91(applet: EmvApplet, transaction: Transaction) -> None:
    reader = RecordingReader(applet)
    result = pay(
        reader,
        transaction,
        terminal_id="T1",
        client=client(FakeAcquirer(applet.card, with_tag_91=False)),
        wait=0.1,
    )
    assert (result.outcome, result.arpc_verified) == (Outcome.APPROVED, None)
    assert 0x82 not in reader.instructions


def test_card_removed_before_issuer_authentication(
    applet: EmvApplet, transaction: Transaction
) -> None:
    reader = LoopbackReader(applet)
    acquirer = FakeAcquirer(applet.card)

    def remove_then_answer(request: httpx.Request) -> httpx.Response:
        reader.remove()
        return acquirer(request)

    result = pay(reader, transaction, terminal_id="T1", client=client(remove_then_answer), wait=0.1)
    assert (result.outcome, result.arpc_verified) == (Outcome.APPROVED, None)


def test_acquirer_unreachable(applet: EmvApplet, transaction: Transaction) -> None:
    calls: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request.headers["Idempotency-Key"])
        raise httpx.ConnectError("connection refused", request=request)

    result = pay(
        LoopbackReader(applet), transaction, terminal_id="T1", client=client(refuse), wait=0.1
    )
    assert (result.outcome, result.reason, result.message) == (
        Outcome.DECLINED,
        "acquirer_unavailable",
        "Not authorised",
    )
    assert len(calls) == 2 and calls[0] == calls[1]
    assert result.kernel is not None and result.kernel.outcome is Outcome.ONLINE_REQUEST


def test_acquirer_rejection(applet: EmvApplet, transaction: Transaction) -> None:
    def reject(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"code": "validation_error", "detail": "bad"})

    result = pay(
        LoopbackReader(applet), transaction, terminal_id="T1", client=client(reject), wait=0.1
    )
    assert (result.outcome, result.reason) == (
        Outcome.DECLINED,
        "acquirer_rejected:validation_error",
    )


def test_each_payment_has_a_fresh_idempotency_key(
    applet: EmvApplet, transaction: Transaction
) -> None:
    keys_seen: list[str] = []
    acquirer = FakeAcquirer(applet.card)

    def handler(request: httpx.Request) -> httpx.Response:
        keys_seen.append(request.headers["Idempotency-Key"])
        return acquirer(request)

    for _ in range(2):
        pay(LoopbackReader(applet), transaction, terminal_id="T1", client=client(handler), wait=0.1)
    assert len(set(keys_seen)) == 2


def test_no_card(transaction: Transaction) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no card, no request")

    result = pay(LoopbackReader(), transaction, terminal_id="T1", client=client(never), wait=0.01)
    assert (result.outcome, result.reason, result.message) == (
        Outcome.TRY_AGAIN,
        "no_card",
        "Present card again",
    )
    assert result.to_dict()["application"] is None


def test_kernel_outcome_is_passed_through(transaction: Transaction) -> None:
    class NotACard:
        def process_apdu(self, apdu: bytes) -> bytes:
            return b"\x6a\x82"

    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no online request")

    result = pay(
        LoopbackReader(NotACard()),
        transaction,
        terminal_id="T1",
        client=client(never),
        kernel=Kernel(),
        wait=0.01,
    )
    assert (result.outcome, result.reason, result.message) == (
        Outcome.END_APPLICATION,
        "card_not_supported",
        "Insert, swipe or try another card",
    )


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_two_payments_in_a_row(
    keys: IssuerKeySet, transaction: Transaction, profile_name: str
) -> None:
    card = make_card(keys, profile_name)
    applet = EmvApplet(card)
    outcomes = [
        pay(
            LoopbackReader(applet),
            transaction,
            terminal_id="T1",
            client=client(FakeAcquirer(card)),
            wait=0.1,
        )
        for _ in range(2)
    ]
    assert [(r.outcome, r.kernel.atc if r.kernel else None) for r in outcomes] == [
        (Outcome.APPROVED, 1),
        (Outcome.APPROVED, 2),
    ]


# -- the restart loop (Book A: "See Phone", card removed, collision -> present again) ---------


@pytest.mark.parametrize("profile_name", ["visa-phone", "mastercard-phone"])
def test_see_phone_then_approved(
    keys: IssuerKeySet, transaction: Transaction, profile_name: str
) -> None:
    card = make_card(keys, profile_name)
    applet = EmvApplet(card)
    shown: list[UiRequest] = []
    above_cvm_limit = Transaction(6_000, "EUR", when=transaction.when)
    result = pay(
        LoopbackReader(applet),
        above_cvm_limit,
        terminal_id="T1",
        client=client(FakeAcquirer(card)),
        wait=0.1,
        on_ui=shown.append,
    )
    assert (result.outcome, result.reason, result.arpc_verified) == (
        Outcome.APPROVED,
        "approved",
        True,
    )
    assert result.kernel is not None and result.kernel.cvm is Cvm.CDCVM
    # The card stays in the loopback field: Book A's "Remove card" follows the outcome.
    assert shown == [WELCOME, PRESENT_CARD, SEE_PHONE, PRESENT_CARD, AUTHORISING, REMOVE_CARD]


def test_three_restarts_then_give_up(visa_card: CardImage, transaction: Transaction) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no online request")

    # A phone that keeps asking to be looked at.
    stubborn = HostileCard(EmvApplet(visa_card), [Rule(0xA8, status(0x6986), occurrence=0)])
    reader = RecordingReader(stubborn)
    shown: list[UiRequest] = []
    result = pay(
        reader, transaction, terminal_id="T1", client=client(never), wait=0.1, on_ui=shown.append
    )
    assert (result.outcome, result.reason, result.ui) == (Outcome.TRY_AGAIN, "see_phone", SEE_PHONE)
    assert result.kernel is not None and result.kernel.restart
    assert reader.instructions.count(0xA8) == MAX_PRESENTATIONS == 3
    assert shown == [WELCOME] + [PRESENT_CARD, SEE_PHONE] * 3 + [REMOVE_CARD]


def test_card_removed_then_presented_again(
    mastercard_card: CardImage, transaction: Transaction
) -> None:
    applet = EmvApplet(mastercard_card)
    reader = LoopbackReader(applet)
    removed = {"done": False}

    def pull_once(apdu: bytes, genuine: object) -> bytes:
        if not removed["done"]:
            removed["done"] = True
            reader.remove()
            reader.insert(applet)  # the shopkeeper taps again
            raise ConnectionError("card left the field")
        return applet.process_apdu(apdu)

    reader.insert(HostileCard(applet, [Rule(0xAE, pull_once, occurrence=0)]))  # type: ignore[arg-type]
    shown: list[UiRequest] = []
    result = pay(
        reader,
        transaction,
        terminal_id="T1",
        client=client(FakeAcquirer(mastercard_card)),
        wait=0.1,
        on_ui=shown.append,
    )
    assert (result.outcome, result.reason) == (Outcome.APPROVED, "approved")
    assert shown[:4] == [WELCOME, PRESENT_CARD, DEFAULT_UI[Outcome.TRY_AGAIN], PRESENT_CARD]


def test_two_cards_then_one(keys: IssuerKeySet, transaction: Transaction) -> None:
    visa = make_card(keys, "visa")
    applet = EmvApplet(visa)
    reader = LoopbackReader(applet)
    reader.add(EmvApplet(make_card(keys, "mastercard")))
    shown: list[UiRequest] = []

    def show(ui: UiRequest) -> None:
        shown.append(ui)
        if ui == ONE_CARD_ONLY:
            reader.insert(applet)  # the holder takes the second card away

    result = pay(
        reader,
        transaction,
        terminal_id="T1",
        client=client(FakeAcquirer(visa)),
        wait=0.1,
        on_ui=show,
    )
    assert (result.outcome, result.reason) == (Outcome.APPROVED, "approved")
    assert shown[:4] == [WELCOME, PRESENT_CARD, ONE_CARD_ONLY, PRESENT_CARD]


def test_two_cards_that_stay(keys: IssuerKeySet, transaction: Transaction) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no online request")

    reader = LoopbackReader(EmvApplet(make_card(keys, "visa")))
    reader.add(EmvApplet(make_card(keys, "mastercard")))
    result = pay(reader, transaction, terminal_id="T1", client=client(never), wait=0.1)
    assert (result.outcome, result.reason, result.ui) == (
        Outcome.TRY_AGAIN,
        "collision",
        ONE_CARD_ONLY,
    )
