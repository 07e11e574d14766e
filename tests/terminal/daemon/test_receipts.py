"""Receipts: as text over the API, and printed on an ESC/POS printer (python-escpos's Dummy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from escpos.printer import Dummy

from card_emulation import EmvApplet
from terminal.daemon.receipts import Receipt
from terminal.daemon.receipts.printer import open_printer, print_receipt
from terminal.errors import PrinterError
from tests.terminal.daemon.rig import Rig, daemon_rig
from tests.terminal.daemon.test_payments import pay

RECEIPT = Receipt("Corner Shop", None, "TERM0001", "2026-12-04T10:00:00+00:00", "payment",
                  "476173******0010", "VISA CREDIT", "A0000000031010", 1250, "EUR",
                  "approved", "auth_01", True, "order-7")  # fmt: skip
#: ESC/POS: ESC E 1 bold, ESC a 1 centre, ESC ! 0x30 double height and width, GS V 0 cut.
BOLD_ON, CENTRE, DOUBLE, CUT = b"\x1bE\x01", b"\x1ba\x01", b"\x1b!0", b"\x1dV\x00"


def test_a_receipt_prints_as_esc_pos() -> None:
    printer = Dummy()
    print_receipt(printer, RECEIPT)
    out: bytes = printer.output
    assert max(out.index(CENTRE), out.index(BOLD_ON)) < out.index(b"Corner Shop\n")
    assert out.index(DOUBLE) < out.index(b"Amount 12.50 EUR\n")
    for text in (b"Card 476173******0010", b"AID A0000000031010", b"Auth auth_01",
                 b"Issuer verified (ARPC)", b"Ref order-7", b"APPROVED"):  # fmt: skip
        assert text in out
    assert out.endswith(CUT)


def test_printer_specs_are_checked() -> None:
    assert isinstance(open_printer("dummy"), Dummy)
    for spec in ("laser:1", "usb:zz:01", "network:"):
        with pytest.raises(PrinterError):
            open_printer(spec)


@pytest.fixture
def printing_rig(tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet) -> Iterator[
        tuple[Rig, list[Dummy]]]:  # fmt: skip
    printed: list[Dummy] = []

    def printer() -> Dummy:
        printed.append(Dummy())
        return printed[-1]

    with daemon_rig(tmp_path, acquirer[0], card, printer=printer) as rig:
        yield rig, printed


def test_a_completed_action_has_its_receipt_as_text_and_on_paper(
    printing_rig: tuple[Rig, list[Dummy]],
) -> None:
    rig, printed = printing_rig
    done = pay(rig, 1250, "paper-1")
    text = rig.api.get(f"/v1/actions/{done['id']}/receipt")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert "Kiosk Coffee" in text.text and "Amount 12.50 EUR" in text.text
    assert "Ref paper-1" in text.text and done["result"]["authorization_id"] in text.text
    for _ in range(2):  # print, then reprint
        assert rig.api.post(f"/v1/actions/{done['id']}/print").json() == {"printed": True}
    assert len(printed) == 2 and printed[0].output == printed[1].output
    assert b"Ref paper-1" in printed[0].output
    # An action without a receipt yet.
    waiting = rig.act(kind="payment", amount=100).json()
    refused = rig.api.post(f"/v1/actions/{waiting['id']}/print")
    assert (refused.status_code, refused.json()["code"]) == (409, "action_state_conflict")
    rig.api.post(f"/v1/actions/{waiting['id']}/cancel")


def test_without_a_printer_printing_is_503(rig: Rig) -> None:
    done = pay(rig, 300, "paper-2")
    refused = rig.api.post(f"/v1/actions/{done['id']}/print")
    assert (refused.status_code, refused.json()["code"]) == (503, "printer_unavailable")
