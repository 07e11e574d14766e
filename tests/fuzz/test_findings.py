"""Regression tests for what the fuzzers found, each kept also as a corpus input.

Every test names its corpus file (``tests/fuzz/corpus/<target>/<name>``); the corpus replay
runs that input through the harness, and the test here pins the exact outcome.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from card_emulation import EmvApplet
from emvcore import tlv
from emvcore.errors import TlvError
from emvcore.keyfile import IssuerKeySet
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers.emulated import LoopbackReader
from tests.card_emulation.support import make_card
from tests.fuzz.targets import TARGETS
from tests.fuzz.targets.kernel import _issuer_keys
from tests.terminal.support import PatchedCard

WHEN = datetime(2026, 11, 22, 9, 30, 5)
UN = bytes.fromhex("A1B2C3D4")


def replace_tag(data: bytes, tag: int, value: bytes) -> bytes:
    """``data`` (a response's data field) with every object ``tag`` given ``value``."""
    out = []
    for obj in tlv.decode(data):
        if obj.tag == tag:
            out.append(tlv.encode(tag, value))
        elif obj.constructed:
            out.append(tlv.encode(obj.tag, replace_tag(obj.value, tag, value)))
        else:
            out.append(obj.encode())
    return b"".join(out)


def card_with(
    keys: IssuerKeySet, profile: str, tag: int, value: bytes, **more: bytes
) -> PatchedCard:
    """The genuine card, with ``tag`` (and each ``T9F6C=...``) given another value."""
    changes = {tag: value, **{int(name[1:], 16): v for name, v in more.items()}}

    def patch(command: bytes, response: bytes) -> bytes:
        data = response[:-2]
        try:
            for changed, new in changes.items():
                data = replace_tag(data, changed, new)
        except TlvError:
            return response
        return data + response[-2:]

    return PatchedCard(EmvApplet(make_card(keys, profile)), patch)


def tap(card: PatchedCard) -> tuple[Outcome, str]:
    transaction = Transaction(1250, "EUR", when=WHEN, unpredictable_number=UN)
    result = Kernel().run(LoopbackReader(card), transaction)
    return result.outcome, result.reason


@pytest.mark.parametrize(
    ("profile", "tag", "dol", "reason", "corpus"),
    [
        # A PDOL asking for 2 x 255 bytes: the GPO data cannot fit a short Lc (255); the
        # kernel raised ApduError out of Kernel.run (kernel crash-966d2467...). It keeps the
        # TTQ (9F66), or the Entry Point drops the kernel 3 candidate before GPO (Book B
        # 3.3.3.6) and the oversized PDOL is never built.
        (
            "visa",
            0x9F38,
            "9F66049F02FF9F03FF",
            "pdol_malformed",
            "kernel/966d2467497406642360f1fa5386c0087e22fe6f",
        ),
        # The same for a CDOL1 asking for more than GENERATE AC can carry (C-2).
        ("mastercard", 0x8C, "9F02FF9F03FF", "cdol1_malformed", None),
    ],
)
def test_a_dol_asking_for_more_than_a_short_command_carries_is_a_card_error(
    profile: str, tag: int, dol: str, reason: str, corpus: str | None
) -> None:
    card = card_with(_issuer_keys(), profile, tag, bytes.fromhex(dol))
    assert tap(card) == (Outcome.END_APPLICATION, reason)
    if corpus is not None:
        target, name = corpus.split("/")
        assert (TARGETS[target].corpus / name).is_file()


def test_an_empty_ctq_after_a_failed_fdda_is_read_as_no_ctq() -> None:
    # Kernel crash-908c6c34...: fDDA failed, and the CTQ (9F6C) the card returned was empty;
    # the C-3 path read its first byte and raised IndexError out of Kernel.run. A CTQ that is
    # not 2 bytes counts as absent, as in CVM selection: no "online if ODA fails", declined.
    card = card_with(_issuer_keys(), "visa", 0x9F6C, b"", T9F4B=bytes(8))
    assert tap(card) == (Outcome.DECLINED, "fdda_failed:sdad_format")
    assert (TARGETS["kernel"].corpus / "908c6c34c2d15188f501b8874c874e26987f9ebb").is_file()
