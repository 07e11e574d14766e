"""pay(): tap, kernel, a MockTransport acquirer computing a real tag 91, EXTERNAL AUTHENTICATE."""

from __future__ import annotations

import json

import httpx
import pytest

from card_emulation import CardImage, EmvApplet
from emvcore import tlv
from emvcore.crypto.cvn import cryptogram_version
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.online import AcquirerClient
from terminal.payment import pay
from terminal.readers.emulated import LoopbackReader
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
        self.version = cryptogram_version(
            "visa-cvn18" if card.profile == "visa" else "mastercard-cvn17"
        )
        self.approve, self.reason, self.flip_bit, self.with_tag_91 = (
            approve,
            reason,
            flip_bit,
            with_tag_91,
        )
        self.requests: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
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
    result = pay(
        LoopbackReader(applet),
        transaction,
        terminal_id="TERM0001",
        client=client(FakeAcquirer(applet.card, flip_bit=True)),
        wait=0.1,
    )
    assert (result.outcome, result.reason, result.message) == (
        Outcome.DECLINED,
        "issuer_authentication_failed",
        "Declined",
    )
    assert result.arpc_verified is False
    assert result.authorization is not None and result.authorization.approved is True


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
        "Declined",
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
        "Declined: acquirer not reachable",
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
        "No card presented",
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
        "Card not supported",
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
