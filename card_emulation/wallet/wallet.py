"""A phone wallet that reads a Tap! tag and pays the checkout session it names.

The tap (:meth:`Wallet.read`): the phone reads the tag through its reader access
(:mod:`.readers`, the NDEF procedures of :mod:`.tag_reader`), decodes the NDEF message with
ndeflib (:func:`emvcore.tapmode.decode_message`) and parses the link strictly under its own
acquirer's base URL (:func:`emvcore.tapmode.parse_link`). The wallet cannot check the MAC
(it has no terminal key): the acquirer does. An idle tag gives ``None``.

The payment (:meth:`Wallet.pay`): fetch the session from the acquirer, show merchant and
amount (:class:`Shown`), and pay with the wallet's token and an ARQC computed by the
wallet's own card (:meth:`card_emulation.EmvApplet.issue_arqc`: its ICC master key is
personalized from the issuer keys as any card's, :func:`card_emulation.personalize`) over
the session's amount, currency and nonce.

For the acquirer's tests the same class misbehaves on request (:class:`Conduct`): it
refuses (insufficient funds), pays twice, pays an expired session, pays for another
amount, presents a forged link, replays a link, tampers with or replays its cryptogram.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from card_emulation.applet import EmvApplet
from card_emulation.errors import WalletError
from card_emulation.wallet.checkout import (
    CheckoutClient,
    CheckoutSession,
    PaymentResult,
    SessionPayment,
    SessionState,
)
from card_emulation.wallet.readers import Transceive
from card_emulation.wallet.tag_reader import read_ndef
from emvcore import tlv
from emvcore.currency import currency, format_minor_units
from emvcore.numeric import encode_n
from emvcore.pan import encode_track2
from emvcore.tags import Tag
from emvcore.tapmode.link import TapLink, parse_link
from emvcore.tapmode.ndef import decode_message
from emvcore.tapmode.session import session_transaction_data


class Conduct(StrEnum):
    """How a wallet behaves when it pays: honest, or one of the misbehaviours to refuse."""

    #: Checks the session is open and pays it once, correctly.
    HONEST = "honest"
    #: Sees an amount above its balance and does not pay (the session stays created).
    REFUSES = "refuses"
    #: Pays, then pays the same session again (fresh cryptogram, new idempotency key).
    PAYS_TWICE = "pays-twice"
    #: Pays whatever the session's state and expiry say.
    PAYS_EXPIRED = "pays-expired"
    #: Its cryptogram covers the session amount plus one minor unit.
    WRONG_AMOUNT = "wrong-amount"
    #: Presents the link with one bit of its MAC flipped.
    FORGES_LINK = "forges-link"
    #: Presents the link it paid with last time instead of the one just read.
    REPLAYS_LINK = "replays-link"
    #: Flips one bit of its application cryptogram.
    TAMPERS_CRYPTOGRAM = "tampers-cryptogram"
    #: Pays, then sends the very same EMV data again under a new idempotency key.
    REPLAYS_CRYPTOGRAM = "replays-cryptogram"


@dataclass(frozen=True, slots=True)
class Shown:
    """What the wallet shows the customer before confirming."""

    merchant_name: str
    amount: str

    def __str__(self) -> str:
        return f"Pay {self.amount} to {self.merchant_name}?"


@dataclass(frozen=True, slots=True)
class WalletRun:
    """What one payment attempt did: what was shown, each answer, why it stopped early."""

    shown: Shown | None
    results: tuple[PaymentResult, ...] = ()
    #: Set when the wallet itself did not pay (``insufficient-funds``, ``session-not-open``).
    refused: str | None = None
    payments: tuple[SessionPayment, ...] = field(default=(), repr=False)

    @property
    def approved(self) -> bool:
        """Whether the (first) payment was approved."""
        return bool(self.results) and self.results[0].approved


class Wallet:
    """A wallet holding one personalized card (token and ICC master key)."""

    def __init__(
        self,
        card: EmvApplet,
        *,
        base_url: str,
        conduct: Conduct = Conduct.HONEST,
        balance: int | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.card = card
        self.base_url = base_url
        self.conduct = conduct
        #: What the holder can spend, as the wallet knows it (``None``: no local limit).
        self.balance = balance
        self.clock = clock
        self._last_link: TapLink | None = None

    # -- the tap ----------------------------------------------------------------------------

    def read(self, transceive: Transceive) -> TapLink | None:
        """Read the tag; the link it names, or ``None`` when it has no payable session.

        :class:`~card_emulation.errors.TagReadError` when the tag does not answer as a Type
        4 Tag; :class:`~emvcore.errors.TapModeError` (``reason``) when its message or link
        is not a Tap! one under this wallet's base URL.
        """
        message = decode_message(read_ndef(transceive))
        if message is None:
            return None
        return parse_link(message.uri, self.base_url)

    def tap(self, transceive: Transceive, client: CheckoutClient) -> WalletRun | None:
        """Read the tag and pay its session; ``None`` when the tag is idle."""
        link = self.read(transceive)
        return None if link is None else self.pay(link, client)

    # -- the payment ------------------------------------------------------------------------

    def pay(self, link: TapLink, client: CheckoutClient) -> WalletRun:
        """Fetch the session the link names, show it, and pay it as :attr:`conduct` says."""
        presented = self._presented_link(link)
        session = client.fetch_session(link.uri)
        if session.session_id != link.session_id or session.terminal_id != link.terminal_id:
            raise WalletError("the acquirer described another session than the tag names")
        shown = Shown(session.merchant_name, format_minor_units(session.amount, session.currency))
        if self.conduct is Conduct.REFUSES or (
            self.balance is not None and session.amount > self.balance
        ):
            return WalletRun(shown, refused="insufficient-funds")
        if self.conduct is not Conduct.PAYS_EXPIRED and not self._open(session):
            return WalletRun(shown, refused="session-not-open")
        first = self._payment(presented, session)
        payments = [first]
        if self.conduct is Conduct.PAYS_TWICE:
            payments.append(self._payment(presented, session))
        elif self.conduct is Conduct.REPLAYS_CRYPTOGRAM:
            payments.append(replace(first, idempotency_key=_idempotency_key()))
        results = tuple(client.pay_session(payment) for payment in payments)
        self._last_link = link
        return WalletRun(shown, results, payments=tuple(payments))

    def _open(self, session: CheckoutSession) -> bool:
        return session.state is SessionState.CREATED and session.expires_at > self.clock()

    def _presented_link(self, link: TapLink) -> TapLink:
        if self.conduct is Conduct.FORGES_LINK:
            return replace(link, mac=bytes([link.mac[0] ^ 0x01]) + link.mac[1:])
        if self.conduct is Conduct.REPLAYS_LINK and self._last_link is not None:
            return self._last_link
        return link

    def _payment(self, link: TapLink, session: CheckoutSession) -> SessionPayment:
        amount = session.amount + (1 if self.conduct is Conduct.WRONG_AMOUNT else 0)
        return SessionPayment(
            link=link.uri,
            session_id=session.session_id,
            idempotency_key=_idempotency_key(),
            emv_data=self.emv_data(amount, session.currency, session.nonce),
        )

    def emv_data(self, amount: int, currency_code: str, nonce: bytes) -> bytes:
        """The EMV data record of one payment: terminal data from the session, the card's
        AIP, token (Track 2 Equivalent Data, 57), PSN and its fresh ARQC (9F27 9F36 9F26 9F10).
        """
        terminal = session_transaction_data(amount, currency(currency_code).numeric, nonce)
        issued = self.card.issue_arqc(terminal)
        if issued is None:
            raise WalletError("the wallet's card has used up its transaction counter (ATC)")
        if self.conduct is Conduct.TAMPERS_CRYPTOGRAM:
            issued = [
                (tag, bytes([value[0] ^ 0x01]) + value[1:])
                if tag == Tag.APPLICATION_CRYPTOGRAM
                else (tag, value)
                for tag, value in issued
            ]
        image = self.card.card
        items = [
            *terminal.items(),
            (Tag.AIP, self.card.profile.aip),
            (Tag.TRACK2, encode_track2(image.token, image.expiry)),
            (Tag.PSN, encode_n(int(image.psn), 1)),
            *issued,
        ]
        return tlv.encode_many(items)


def _idempotency_key() -> str:
    return f"wallet-{secrets.token_hex(12)}"
