"""Receipts on paper: ESC/POS receipt printers through python-escpos.

A printer is named by a spec, like a reader::

    usb:04b8:0202          a USB printer by vendor:product id (Epson TM-T20 here)
    serial:/dev/ttyUSB0    a serial printer (9600 8N1 unless the printer's profile says)
    network:10.0.0.9       a network printer on port 9100 (or network:HOST:PORT)
    file:/dev/usb/lp0      a device file the kernel's usblp driver made
    dummy                  python-escpos's in-memory printer (tests; its ``output``)

python-escpos is imported lazily (``pip install 'tap-stack[printer]'``); its errors become
:class:`~terminal.errors.PrinterError` here, at the boundary.
"""

from __future__ import annotations

from typing import Any

from emvcore.currency import format_minor_units
from terminal.daemon.receipts.receipt import Receipt, render_text
from terminal.errors import PrinterError

__all__ = ["open_printer", "print_receipt"]


def open_printer(spec: str) -> Any:
    """The python-escpos printer ``spec`` names (see the module docstring)."""
    try:
        from escpos import printer as escpos
        from escpos.exceptions import Error as EscposError
    except ImportError:
        raise PrinterError("receipt printers need python-escpos: "
                           "pip install 'tap-stack[printer]'") from None  # fmt: skip
    kind, _, where = spec.partition(":")
    try:
        if kind == "dummy" and not where:
            return escpos.Dummy()
        if kind == "usb":
            vendor, _, product = where.partition(":")
            return escpos.Usb(int(vendor, 16), int(product, 16))
        if kind == "serial" and where:
            return escpos.Serial(where)
        if kind == "network" and where:
            host, _, port = where.partition(":")
            return escpos.Network(host, port=int(port or 9100))
        if kind == "file" and where:
            return escpos.File(where)
    except (ValueError, OSError, EscposError) as exc:
        raise PrinterError(f"printer {spec} cannot be opened: {exc.__class__.__name__}") from None
    raise PrinterError(f"unknown printer {spec!r}: usb:VID:PID, serial:DEVICE, "
                       "network:HOST[:PORT], file:PATH or dummy")  # fmt: skip


def print_receipt(printer: Any, receipt: Receipt) -> None:
    """Print ``receipt``: the merchant centred and bold, the amount double size, then cut."""
    from escpos.exceptions import Error as EscposError

    lines = render_text(receipt).splitlines()
    amount = f"Amount {format_minor_units(receipt.amount, receipt.currency)}"
    try:
        printer.set(align="center", bold=True)
        printer.text(lines[0] + "\n")
        printer.set(align="left", bold=False)
        for line in lines[1:]:
            if line == amount:
                printer.set(double_height=True, double_width=True, bold=True)
                printer.text(line + "\n")
                printer.set(normal_textsize=True, bold=False)
            elif line == receipt.outcome.upper():
                printer.set(align="center", bold=True)
                printer.text(line + "\n")
                printer.set(align="left", bold=False)
            else:
                printer.text(line + "\n")
        printer.cut()
    except (OSError, EscposError) as exc:
        raise PrinterError(f"the receipt printer failed: {exc.__class__.__name__}") from None
