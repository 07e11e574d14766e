"""TR-31 key blocks (ASC X9 TR-31-2018, ANSI X9.143-2021): keys that travel wrapped.

A key block carries a key encrypted and MACed under a key block protection key (KBPK,
the key-encryption key shared with the sender), with a clear header that binds the key to
its use: key usage (``B0`` a BDK, ``K0`` a key-encryption key, ``P0`` a PIN key ...),
algorithm (``T`` TDES, ``A`` AES), mode of use (``X`` derivation, ``E`` encrypt, ``N`` no
restriction ...), key version and exportability, plus optional blocks (``KS``: a DUKPT
initial KSN). The cryptography is psec's (``psec.tr31``, versions A, B, C and D); this
module maps its errors into :class:`~emvcore.errors.KeyBlockError` and refuses a block
whose header is not what the caller asked for, before the key is used for anything.

    >>> kbpk = bytes.fromhex("89E88CF7931444F334BD7547FC3F380C")
    >>> block = "A0072P0TE00E0000F5161ED902807AF26F1D62263644BD24192FDB3193C730301CEE8701"
    >>> unwrapped = unwrap_key_block(kbpk, block, key_usage=Tr31Usage.PIN_ENCRYPTION,
    ...                              algorithm=KeyAlgorithm.TDES)   # TR-31-2018 A.7.2.1
    >>> unwrapped.kcv.hex().upper(), unwrapped.header.mode_of_use
    ('CB9DEA', 'E')
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from cryptography.utils import CryptographyDeprecationWarning
from psec import tr31 as _psec_tr31

from emvcore.errors import KeyBlockError
from emvcore.keys.check_value import KeyAlgorithm, key_check_value

__all__ = ["KeyBlockHeader", "Tr31Usage", "UnwrappedKey", "unwrap_key_block", "wrap_key_block"]


class Tr31Usage(StrEnum):
    """TR-31-2018 / X9.143 key usage codes (header bytes 5-6) this stack imports."""

    BDK = "B0"
    DUKPT_INITIAL_KEY = "B1"
    DATA_ENCRYPTION = "D0"
    EMV_MASTER_KEY_AC = "E0"
    KEY_ENCRYPTION = "K0"
    PIN_ENCRYPTION = "P0"


@dataclass(frozen=True, slots=True)
class KeyBlockHeader:
    """The clear header of a key block: what the key is for (TR-31-2018 section A.5)."""

    version_id: str
    key_usage: str
    algorithm: str
    mode_of_use: str
    version_num: str
    exportability: str
    blocks: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class UnwrappedKey:
    """A key taken out of a key block, with its header; the key never shows in a repr."""

    header: KeyBlockHeader
    key: bytes = field(repr=False)
    algorithm: KeyAlgorithm

    @property
    def kcv(self) -> bytes:
        """The key's 3-byte check value (TDES zero block or AES CMAC, by its algorithm)."""
        return key_check_value(self.key, self.algorithm)


# psec quotes the data it could not parse (encrypted key data, MACs, header text) after
# these labels; an error message of ours never carries key block contents.
_QUOTED_DATA = re.compile(r"\s*(?:Key data|Block data|Data|MAC|Header): '[^']*'")


def _scrub(message: str) -> str:
    return _QUOTED_DATA.sub("", message).strip()


def _mapped(error: ValueError) -> KeyBlockError:
    message = _scrub(str(error))
    if isinstance(error, _psec_tr31.KeyBlockError):
        if "MAC doesn't match" in message:
            return KeyBlockError(
                "the key block fails its MAC: wrong key block protection key, or altered",
                field="mac",
            )
        if message.startswith("KBPK length"):
            return KeyBlockError(message, field="kbpk")
    return KeyBlockError(f"malformed key block: {message}", field="format")


@contextmanager
def _psec_boundary() -> Iterator[None]:
    """Map psec's errors into ours and silence its TDES deprecation warnings.

    psec 1.3 builds TDES from ``cryptography``'s old ``algorithms.TripleDES`` name (moved to
    ``hazmat.decrepit``) with 16-byte keys; each call warns. The warnings are about psec's
    imports, not our use, so they are ignored here, and only here.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            yield
    except (_psec_tr31.HeaderError, _psec_tr31.KeyBlockError) as error:
        raise _mapped(error) from None


def _header(header: _psec_tr31.Header) -> KeyBlockHeader:
    return KeyBlockHeader(
        version_id=header.version_id,
        key_usage=header.key_usage,
        algorithm=header.algorithm,
        mode_of_use=header.mode_of_use,
        version_num=header.version_num,
        exportability=header.exportability,
        blocks=MappingProxyType(dict(header.blocks.items())),
    )


def unwrap_key_block(
    kbpk: bytes,
    key_block: str,
    *,
    key_usage: str,
    algorithm: KeyAlgorithm,
    modes_of_use: Collection[str] | None = None,
) -> UnwrappedKey:
    """Unwrap a TR-31 key block and check it is the key the caller expects.

    The MAC is verified (by psec) before anything else is trusted; then the header's key
    usage must equal ``key_usage``, its algorithm ``algorithm``, its mode of use be one of
    ``modes_of_use`` (any when ``None``), and the key must have a length its algorithm has
    (TDES double or triple length, AES 128/192/256). Each refusal is a
    :class:`~emvcore.errors.KeyBlockError` whose ``field`` says which check failed.

    >>> kbpk = bytes.fromhex("B8ED59E0A279A295E9F5ED7944FD06B9")   # TR-31-2018 A.7.3.1
    >>> block = ("C0096B0TX12S0100KS1800604B120F9292800000"
    ...          "BFB9B689CB567E66FC3FEE5AD5F52161FC6545B9D60989015D02155C")
    >>> bdk = unwrap_key_block(kbpk, block, key_usage=Tr31Usage.BDK,
    ...                        algorithm=KeyAlgorithm.TDES, modes_of_use={"X"})
    >>> bdk.header.blocks["KS"], bdk.kcv.hex().upper()
    ('00604B120F9292800000', 'F4B08D')
    >>> unwrap_key_block(kbpk, block, key_usage=Tr31Usage.KEY_ENCRYPTION,
    ...                  algorithm=KeyAlgorithm.TDES)
    Traceback (most recent call last):
    ...
    emvcore.errors.KeyBlockError: the key block holds key usage B0, not the K0 expected
    """
    with _psec_boundary():
        psec_header, key = _psec_tr31.unwrap(bytes(kbpk), key_block)
    header = _header(psec_header)
    if header.key_usage != key_usage:
        raise KeyBlockError(
            f"the key block holds key usage {header.key_usage}, not the {key_usage} expected",
            field="key_usage",
        )
    if header.algorithm != algorithm.value:
        raise KeyBlockError(
            f"the key block holds algorithm {header.algorithm}, "
            f"not the {algorithm.value} ({algorithm.name}) expected",
            field="algorithm",
        )
    if modes_of_use is not None and header.mode_of_use not in modes_of_use:
        expected = "/".join(sorted(modes_of_use))
        raise KeyBlockError(
            f"the key block holds mode of use {header.mode_of_use}, not {expected} as expected",
            field="mode_of_use",
        )
    if len(key) not in algorithm.key_lengths:
        raise KeyBlockError(
            f"the key block holds a {len(key)}-byte key, not a {algorithm.name} key length",
            field="key",
        )
    return UnwrappedKey(header=header, key=key, algorithm=algorithm)


def wrap_key_block(
    kbpk: bytes,
    key: bytes,
    *,
    version_id: str,
    key_usage: str,
    algorithm: KeyAlgorithm,
    mode_of_use: str,
    version_num: str = "00",
    exportability: str = "N",
    blocks: Mapping[str, str] | None = None,
) -> str:
    """Wrap ``key`` in a TR-31 key block under ``kbpk`` (psec), for tests and exports.

    Version ``B`` (TDES KBPK, CMAC) or ``D`` (AES KBPK) are the current ones; ``A`` and
    ``C`` (variant binding) exist for old peers. psec pads with random bytes, so the same
    key wraps differently each time; :func:`unwrap_key_block` gives it back.

    >>> kbpk = bytes.fromhex("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6")
    >>> block = wrap_key_block(kbpk, bytes(16), version_id="D", key_usage=Tr31Usage.BDK,
    ...                        algorithm=KeyAlgorithm.AES, mode_of_use="X")
    >>> block[:16]
    'D0144B0AX00N0000'
    """
    with _psec_boundary():
        header = _psec_tr31.Header(
            version_id, str(key_usage), algorithm.value, mode_of_use, version_num, exportability
        )
        for block_id, data in (blocks or {}).items():
            header.blocks[block_id] = data
        return _psec_tr31.wrap(bytes(kbpk), header, bytes(key))
