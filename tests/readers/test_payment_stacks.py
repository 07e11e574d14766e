"""The end-to-end payment through the real reader stacks, with the real acquirer.

pyscard -> pcscd -> vsmartcard-vpcd -> emulated card, and nfcpy's udp reader -> nfcpy's udp
target -> our ISO-DEP card side -> emulated card: the same payment as the in-process tests,
approved by the acquirer (ARQC verified), the ARPC verified by the card.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from card_emulation import EmvApplet
from terminal.kernel import Outcome, Transaction
from terminal.modes.pay.payment import pay
from tests.readers.acquirer_rig import Acquirer, running_acquirer
from tests.readers.stacks import RIGS, Tripwire

FUNDING = {"visa": "4111111111111111", "mastercard": "5555555555554444"}


@pytest.fixture(scope="module")
def acquirer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Acquirer]:
    with running_acquirer(tmp_path_factory.mktemp("stack-acquirer")) as running:
        yield running


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_payment_is_approved_through_the_real_stack(
    real_stack: str, scheme: str, acquirer: Acquirer
) -> None:
    card = EmvApplet(acquirer.card(f"{real_stack}-{scheme}", scheme, FUNDING[scheme]))
    rig = RIGS[real_stack]()
    try:
        rig.insert(card)
        result = pay(rig.reader, Transaction(1250, "EUR"), terminal_id="TERM0001",
                     client=acquirer.client(), wait=5)  # fmt: skip
    finally:
        rig.close()
    summary = result.to_dict()
    assert result.outcome is Outcome.APPROVED, summary
    assert summary["arqc_verified"] is True
    assert summary["arpc_verified"] is True
    assert card.card.atc == 1


def test_card_removed_mid_payment_is_try_again_and_never_goes_online(
    real_stack: str, acquirer: Acquirer
) -> None:
    """The card leaves during GPO and is not presented again: Try Again, nothing authorized."""
    card = EmvApplet(acquirer.card(f"{real_stack}-gone", "visa", FUNDING["visa"]))
    rig = RIGS[real_stack]()
    try:
        rig.insert(Tripwire(card, 0xA8, rig.remove))
        result = pay(rig.reader, Transaction(1250, "EUR"), terminal_id="TERM0001",
                     client=acquirer.client(), wait=1)  # fmt: skip
    finally:
        rig.close()
    assert result.outcome is Outcome.TRY_AGAIN
    # The kernel read "card_removed"; pay() then waits for the card to come back.
    assert result.reason in ("card_removed", "no_card")
    assert result.authorization is None


@pytest.mark.parametrize("stack", ["pcsc", "loopback"])
def test_a_card_left_in_the_field_pays_once(stack: str, acquirer: Acquirer) -> None:
    """Issue 11: a card sitting in the reader, `pay 12.50` then `pay 1.00`, both approved.

    The second payment asks for the card's removal and reports that it stayed: nothing is
    authorized, the card's ATC did not move. Lifted and tapped again, it pays.
    """
    card = EmvApplet(acquirer.card(f"{stack}-left", "visa", FUNDING["visa"]))
    rig = RIGS[stack]()
    try:
        rig.insert(card)
        first = pay(rig.reader, Transaction(1250, "EUR"), terminal_id="TERM0001",
                    client=acquirer.client(), wait=5)  # fmt: skip
        second = pay(rig.reader, Transaction(100, "EUR"), terminal_id="TERM0001",
                     client=acquirer.client(), wait=1)  # fmt: skip
        rig.remove()
        assert rig.reader.wait_for_removal(20)
        rig.insert(card)
        third = pay(rig.reader, Transaction(100, "EUR"), terminal_id="TERM0001",
                    client=acquirer.client(), wait=20)  # fmt: skip
    finally:
        rig.close()
    assert (first.outcome, first.card_removed) == (Outcome.APPROVED, False)
    assert (second.outcome, second.reason) == (Outcome.TRY_AGAIN, "card_not_removed")
    assert second.authorization is None
    assert third.outcome is Outcome.APPROVED
    assert card.card.atc == 2
