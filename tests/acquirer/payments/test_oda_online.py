"""Mastercard-style cards that fail ODA, sent online by a terminal whose TAC-Denial is 00.

The quoted defect (issue 11, issue 14 "The ODA decision"): a forged, expired or unknown-CA
certificate sets "CDA failed" in the TVR, the terminal's empty TAC-Denial sends the ARQC
online anyway, and the acquirer, ignoring the TVR, approved. The real C-2 kernel taps an
emulated card personalized from a token of the acquirer's vault with its issuer keys, and
the data record goes to the real app (on both stores).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from acquirer.keys import KeyMaterial
from acquirer.payments.store import PaymentStore
from acquirer.vault import TokenVault
from card_emulation import EmvApplet, Fault, personalize
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, KernelConfig, Outcome, Transaction
from terminal.kernel.tvr import tvr_names
from terminal.readers.emulated import LoopbackReader
from tests.acquirer.testkit import Api

FAULTS = (
    Fault.TAMPER_ISSUER_CERTIFICATE,
    Fault.TAMPER_ICC_CERTIFICATE,
    Fault.EXPIRED_ISSUER_CERTIFICATE,
    Fault.EXPIRED_ICC_CERTIFICATE,
    Fault.UNKNOWN_CA_INDEX,
)


def _online(
    vault: TokenVault, keys: IssuerKeySet, api: Api, faults: frozenset[Fault]
) -> tuple[list[str], dict[str, object]]:
    record = vault.provision("5555555555554444", "mastercard")
    image = personalize("mc", "mastercard", record, keys, faults=faults)
    transaction = Transaction(1250, "EUR", when=datetime(2026, 11, 22, 9, 30, 5))
    result = Kernel(KernelConfig(tac_denial=bytes(5))).run(
        LoopbackReader(EmvApplet(image)), transaction
    )
    assert result.outcome is Outcome.ONLINE_REQUEST
    answer: dict[str, object] = api.authorize(result.data_record.hex()).json()
    return tvr_names(result.tvr), answer


@pytest.mark.parametrize("fault", FAULTS, ids=[f.value for f in FAULTS])
def test_cda_failed_in_the_tvr_is_declined(
    any_vault: TokenVault, keys: KeyMaterial, any_api: Api, any_store: PaymentStore, fault: Fault
) -> None:
    tvr, answer = _online(any_vault, keys.issuer_keys, any_api, frozenset({fault}))
    assert "CDA_FAILED" in tvr
    assert (answer["approved"], answer["reason"], answer["response_code"]) == (
        False,
        "oda_failed",
        "05",
    )
    assert answer["cryptogram_verified"] is True  # a genuine ARQC, declined on the TVR
    assert any_store.ledger_totals().journals == {}


def test_a_genuine_card_is_approved(
    any_vault: TokenVault, keys: KeyMaterial, any_api: Api, any_store: PaymentStore
) -> None:
    tvr, answer = _online(any_vault, keys.issuer_keys, any_api, frozenset())
    assert "CDA_FAILED" not in tvr
    assert answer["approved"] is True
    assert any_store.ledger_totals().journals == {"sale": 1}
