"""The USB NFC readers we know: who drives them, and which kernel driver grabs them.

One table serves ``tap-terminal doctor`` (which reader is this, who may open it, who holds
it) and is the source the rules in ``udev/60-tap-nfc-readers.rules`` follow (a test keeps
the two in step). ``stacks`` says which reader stack can use a reader: ``pcsc`` (pcscd with
the CCID driver) or ``nfc`` (nfcpy's own USB drivers, which need the device to themselves).
``kernel_driver`` is the Linux NFC driver that claims it when loaded (blacklisted by
``udev/blacklist-tap-nfc.conf`` for nfcpy use).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KnownReader:
    """One USB reader model."""

    vendor_id: int
    product_id: int
    name: str
    stacks: tuple[str, ...]
    kernel_driver: str | None = None

    @property
    def usb_id(self) -> str:
        """``vvvv:pppp`` as lsusb prints it."""
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


KNOWN_READERS: tuple[KnownReader, ...] = (
    KnownReader(0x072F, 0x2200, "ACS ACR122U", ("pcsc", "nfc"), "pn533_usb"),
    KnownReader(0x072F, 0x223B, "ACS ACR1252U", ("pcsc",)),
    KnownReader(0x04E6, 0x5591, "SCM SCL3711", ("nfc",), "pn533_usb"),
    KnownReader(0x04E6, 0x5593, "SCM SCL3712", ("nfc",), "pn533_usb"),
    KnownReader(0x04CC, 0x2533, "NXP PN533 demo board", ("nfc",), "pn533_usb"),
    KnownReader(0x054C, 0x06C1, "Sony RC-S380/S", ("nfc",), "port100"),
    KnownReader(0x054C, 0x06C3, "Sony RC-S380/P", ("nfc",), "port100"),
    KnownReader(0x054C, 0x02E1, "Sony RC-S956 (RC-S330/360/370)", ("nfc",), "pn533_usb"),
)

#: Kernel modules of the Linux NFC subsystem that claim the readers above.
KERNEL_NFC_MODULES = ("pn533_usb", "pn533", "port100", "nfc")


def known_reader(vendor_id: int, product_id: int) -> KnownReader | None:
    """The table entry for a USB id, or None.

    >>> known_reader(0x072F, 0x2200).name
    'ACS ACR122U'
    >>> known_reader(0x1D6B, 0x0002) is None
    True
    """
    for reader in KNOWN_READERS:
        if (reader.vendor_id, reader.product_id) == (vendor_id, product_id):
            return reader
    return None
