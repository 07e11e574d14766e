"""Receipts: what a completed action leaves the customer and the shop, as text or on paper.

- :mod:`.receipt`: :class:`Receipt` (the fields) and :func:`render_text`.
- :mod:`.printer`: an ESC/POS printer backend (python-escpos: USB, serial, network, a
  device file), :func:`open_printer` and :func:`print_receipt`.
"""

from terminal.daemon.receipts.receipt import Receipt, render_text

__all__ = ["Receipt", "render_text"]
