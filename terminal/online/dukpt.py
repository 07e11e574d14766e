"""The terminal's AES DUKPT device (ANSI X9.24-3-2017): a state file, and sealing the card data.

``tap-acquirer terminals add`` writes the terminal's initial key (format
``tap-dukpt-initial-key``, beside its client certificate). On first use it is loaded into the
device-state file, which from then on is all the terminal keeps: the 32 future-key registers
and the counter of the next transaction, never the initial key (X9.24-3 6.5)::

    {"format": "tap-dukpt-device/1", "initial_key_id": "<16 hex>", "counter": 1,
     "registers": ["<hex>" | null, ... 32], "test_key": true}

For every authorization :meth:`DukptDevice.seal` takes the next transaction's keys, and
**writes and fsyncs the moved-on state before the KSN is used** (temporary file, fsync,
rename, fsync of the folder, mode 0600): a terminal killed at any point may skip a counter,
never use one twice. The sensitive tags of the data record (57, 5A, 5F24) are then replaced
by their sealed template (:mod:`emvcore.crypto.dukpt.envelope`). One process owns the file
(the daemon, or one CLI command); within it a lock serializes the taps.
"""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path
from typing import Any

from emvcore.crypto.dukpt.aes import AesDukptDevice
from emvcore.crypto.dukpt.envelope import seal, transaction_key_specs
from emvcore.errors import DukptError
from emvcore.keyfile import write_private_file
from terminal.errors import DukptDeviceError

__all__ = ["DEVICE_FORMAT", "INITIAL_KEY_FORMAT", "DukptDevice"]

DEVICE_FORMAT = "tap-dukpt-device/1"
INITIAL_KEY_FORMAT = "tap-dukpt-initial-key/1"


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise DukptDeviceError(f"the {what} {path} must be readable by its owner only")
        document = json.loads(path.read_bytes())
    except OSError as exc:
        raise DukptDeviceError(f"cannot read the {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise DukptDeviceError(f"the {what} {path} is not JSON") from None
    if not isinstance(document, dict):
        raise DukptDeviceError(f"the {what} {path} is not a JSON object")
    return document


def _hex(document: dict[str, Any], name: str) -> bytes:
    value = document.get(name)
    try:
        return bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        return b""


class DukptDevice:
    """The device-state file of one terminal, and sealing with it (see the module)."""

    def __init__(self, state: Path, initial_key: Path | None = None) -> None:
        """Open ``state``; if it does not exist yet, load ``initial_key`` into it first."""
        self._path = state
        self._lock = threading.Lock()
        if not state.exists():
            if initial_key is None:
                raise DukptDeviceError(f"no DUKPT device state at {state} and no initial key")
            self._load_initial_key(initial_key)
        self._device, self._test_key = self._read()

    def _load_initial_key(self, path: Path) -> None:
        document = _read_json(path, "DUKPT initial key file")
        if document.get("format") != INITIAL_KEY_FORMAT:
            raise DukptDeviceError(f"{path} is not a {INITIAL_KEY_FORMAT} file")
        key, ikid = _hex(document, "initial_key"), _hex(document, "initial_key_id")
        try:
            device = AesDukptDevice(key, ikid)
        except DukptError:
            raise DukptDeviceError(f"the initial key or its ID in {path} is unusable") from None
        self._write(device, bool(document.get("test_key", False)))

    def _read(self) -> tuple[AesDukptDevice, bool]:
        document = _read_json(self._path, "DUKPT device state")
        if document.get("format") != DEVICE_FORMAT:
            raise DukptDeviceError(f"{self._path} is not a {DEVICE_FORMAT} file")
        registers = document.get("registers")
        counter = document.get("counter")
        ikid = _hex(document, "initial_key_id")
        if not isinstance(registers, list) or not isinstance(counter, int):
            raise DukptDeviceError(f"{self._path} needs 'registers' and 'counter'")
        try:
            keys = tuple(None if r is None else bytes.fromhex(r) for r in registers)
            device = AesDukptDevice.restore(ikid, keys, counter)
        except DukptError as exc:
            raise DukptDeviceError(f"the DUKPT device state {self._path}: {exc}") from None
        except (ValueError, TypeError):
            raise DukptDeviceError(f"the DUKPT device state {self._path} is unusable") from None
        return device, bool(document.get("test_key", False))

    def _write(self, device: AesDukptDevice, test_key: bool) -> None:
        document = {
            "format": DEVICE_FORMAT,
            "initial_key_id": device.initial_key_id.hex().upper(),
            "counter": device.counter,
            "registers": [None if r is None else r.hex().upper() for r in device.intermediate_keys],
            "test_key": test_key,
        }
        try:
            write_private_file(self._path, (json.dumps(document) + "\n").encode())
        except OSError as exc:
            raise DukptDeviceError(
                f"cannot write the DUKPT device state {self._path}: {exc.strerror}"
            ) from None

    @property
    def initial_key_id(self) -> bytes:
        """The initial key ID (BDK ID || device ID) of this terminal's KSNs."""
        return self._device.initial_key_id

    @property
    def next_counter(self) -> int:
        """The counter the next transaction will use (before invalid counters are skipped)."""
        return self._device.counter

    def seal(self, emv_data: bytes) -> bytes:
        """The data record with 57, 5A, 5F24 sealed under the next transaction's keys.

        The state is written (and fsync'd) before the keys are used. Raises
        :class:`~terminal.errors.DukptDeviceError` when the device is exhausted or the state
        cannot be written; the record is then not sent.
        """
        with self._lock:
            try:
                ksn, (data_key, mac_key) = self._device.next_transaction_keys(
                    *transaction_key_specs(self._device)
                )
            except DukptError as exc:
                raise DukptDeviceError(f"the DUKPT device cannot seal: {exc}") from None
            self._write(self._device, self._test_key)
        try:
            return seal(emv_data, ksn, data_key, mac_key)
        except DukptError as exc:
            raise DukptDeviceError(f"the card data cannot be sealed: {exc}") from None
