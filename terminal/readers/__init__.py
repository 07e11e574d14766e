"""Reader backends, registered by name and imported only when used.

A spec is ``BACKEND[:ARGUMENT]``:

* ``emulated:NAME``: the in-process emulated card ``NAME`` (:mod:`.emulated`);
* ``pcsc``, ``pcsc:INDEX``, ``pcsc:NAME``: a PC/SC reader through pyscard and pcscd
  (:mod:`.pcsc`, pip extra ``pcsc``);
* ``nfc:usb``, ``nfc:usb:VID:PID``, ``nfc:tty:USB0``, ``nfc:udp:HOST:PORT``: a reader
  driven by nfcpy (:mod:`.nfc`, pip extra ``nfc``).

Backends live in their own modules and are imported lazily, so a missing optional library
(pyscard for ``pcsc``, nfcpy for ``nfc``) gives an install hint when that backend is asked
for, never an ImportError at start-up.
"""

from __future__ import annotations

from typing import Any

from terminal.backends import load_backend
from terminal.errors import ReaderUnavailableError
from terminal.readers.base import CardInfo, Reader

#: name -> ("module:Class", pip extra that provides its library or None).
BACKENDS: dict[str, tuple[str, str | None]] = {
    "emulated": ("terminal.readers.emulated:EmulatedReader", None),
    "pcsc": ("terminal.readers.pcsc:PcscReader", "pcsc"),
    "nfc": ("terminal.readers.nfc:NfcReader", "nfc"),
}


def backend(name: str) -> type[Reader]:
    """The reader class registered as ``name``."""
    cls: type[Reader] = load_backend(BACKENDS, name, "reader", ReaderUnavailableError)
    return cls


def open_reader(spec: str, **options: Any) -> Reader:
    """Open a reader from a ``BACKEND[:ARGUMENT]`` spec, e.g. ``emulated:visa``."""
    name, _, argument = spec.partition(":")
    cls = backend(name)
    opener = getattr(cls, "from_spec", None)
    if opener is None:
        raise ReaderUnavailableError(f"reader backend {name!r} cannot be opened from a spec")
    reader: Reader = opener(argument, **options)
    return reader


__all__ = ["BACKENDS", "CardInfo", "Reader", "backend", "open_reader"]
