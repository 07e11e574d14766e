"""The acquirer's side of AES DUKPT (ANSI X9.24-3-2017): terminals' initial keys, opening their data.

The keyring's BDK (:mod:`acquirer.keystore.keyring`, with its 4-byte BDK ID) derives every
terminal's initial key. A terminal's initial key ID is ``BDK ID || device ID``, the device ID
being the first 4 bytes of SHA-256 over ``"tap-dukpt-device/" + terminal id``: computed, not
stored, so each authorization can check that a KSN belongs to the terminal that sent it
without a lookup, and ``terminals add`` refuses a terminal whose device ID another registered
terminal already has (two terminals never share an initial key).

``terminals add`` writes the initial key into the terminal's credentials folder, beside its
client certificate, as an owner-only JSON file::

    {"format": "tap-dukpt-initial-key/1", "terminal_id": "SHOP0001",
     "initial_key_id": "<16 hex>", "initial_key": "<hex>", "kcv": "<6 hex>", "test_key": true}

:class:`SensitiveDataOpener` opens the sealed sensitive data of an authorization
(:mod:`emvcore.crypto.dukpt.envelope`) before it is parsed: the BDK ID must be the keyring's,
the device ID the terminal's. The clear format (57, 5A, 5F24 in the record) is accepted only
outside production mode.

    >>> device_id("SHOP0001").hex().upper()
    'DADC635D'
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from acquirer.errors import KeyMaterialError, SensitiveDataError
from acquirer.keystore.keyring import NamedKey
from emvcore import tlv
from emvcore.crypto.dukpt.aes import Ksn, derive_initial_key
from emvcore.crypto.dukpt.envelope import Opened, open_sealed
from emvcore.errors import DukptError, TlvError
from emvcore.keyfile import write_private_file
from emvcore.keys import KeyAlgorithm, key_check_value

__all__ = [
    "INITIAL_KEY_FORMAT",
    "SensitiveDataOpener",
    "device_id",
    "initial_key_id",
    "write_initial_key",
]

INITIAL_KEY_FORMAT = "tap-dukpt-initial-key/1"
_DEVICE_ID_LABEL = b"tap-dukpt-device/"


def device_id(terminal_id: str) -> bytes:
    """The terminal's 4-byte DUKPT device ID (the second half of its initial key ID)."""
    return hashlib.sha256(_DEVICE_ID_LABEL + terminal_id.encode()).digest()[:4]


def initial_key_id(bdk: NamedKey, terminal_id: str) -> bytes:
    """``BDK ID || device ID``: the terminal's initial key ID under ``bdk``."""
    if bdk.bdk_id is None:
        raise KeyMaterialError("the BDK has no BDK ID")
    return bdk.bdk_id + device_id(terminal_id)


def write_initial_key(bdk: NamedKey, terminal_id: str, out_dir: Path) -> Path:
    """Derive the terminal's initial key and write it (mode 0600) into ``out_dir``."""
    ikid = initial_key_id(bdk, terminal_id)
    key = derive_initial_key(bdk.key, ikid)
    document = {
        "format": INITIAL_KEY_FORMAT,
        "terminal_id": terminal_id,
        "initial_key_id": ikid.hex().upper(),
        "initial_key": key.hex().upper(),
        "kcv": key_check_value(key, KeyAlgorithm.AES).hex().upper(),
        "test_key": bdk.test_key,
    }
    path = out_dir / f"{terminal_id}-dukpt.json"
    write_private_file(path, (json.dumps(document, indent=2) + "\n").encode())
    return path


class SensitiveDataOpener:
    """Opens the DUKPT-sealed sensitive data of a terminal's data record (see the module)."""

    def __init__(self, bdk: NamedKey | None, *, production: bool) -> None:
        self._bdk = bdk
        self._production = production

    def open(self, terminal_id: str, emv_data: bytes) -> Opened:
        """The record with 57, 5A, 5F24 in clear, and the KSN (``None``: sent in clear).

        Raises :class:`~acquirer.errors.SensitiveDataError` for sealed data that cannot be
        used, and for clear data in production mode. The message never holds key or card data.
        """

        def bdk_for(ksn: Ksn) -> bytes:
            if self._bdk is None or self._bdk.bdk_id is None:
                raise SensitiveDataError("DUKPT-sealed data, but the acquirer holds no BDK")
            if ksn.bdk_id != self._bdk.bdk_id:
                raise SensitiveDataError("the KSN's BDK ID is not the acquirer's BDK")
            if ksn.derivation_id != device_id(terminal_id):
                raise SensitiveDataError(f"the KSN's device ID is not terminal {terminal_id}'s")
            return self._bdk.key

        try:
            tlv.decode(emv_data)
        except TlvError:
            # Not BER-TLV at all: the parser reports where (nothing sensitive can be read).
            return Opened(emv_data, None)
        try:
            opened = open_sealed(emv_data, bdk_for)
        except DukptError as exc:
            raise SensitiveDataError(f"the DUKPT-sealed sensitive data is refused: {exc}") from None
        if opened.ksn is None and self._production:
            raise SensitiveDataError(
                "production mode refuses tags 57, 5A and 5F24 in clear: "
                "seal them under the terminal's DUKPT key"
            )
        return opened
