"""A test card: what a tapped card computes, built with emvcore, to drive the acquirer.

It derives its ICC master key from the test issuer master key as a personalization bureau
would, builds its IAD, computes the ARQC over the transaction data, and checks the
issuer's tag 91 the way the card does on the second GENERATE AC.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient

from emvcore import tlv
from emvcore.crypto.cvn import CryptogramVersion, IadFormat, cryptogram_version
from emvcore.keyfile import IssuerKey
from emvcore.numeric import encode_cn, encode_n
from emvcore.pan import encode_track2

EUR, USD = 978, 840


@dataclass(frozen=True)
class Tap:
    """One transaction's data record and what the card needs to check the answer."""

    data: bytes
    fields: dict[int, bytes]

    @property
    def hex(self) -> str:
        return self.data.hex().upper()

    @property
    def arqc(self) -> bytes:
        return self.fields[0x9F26]


@dataclass
class TestCard:
    """An emulated card holding one token."""

    __test__ = False

    token: str
    key: IssuerKey
    psn: str = "00"
    expiry: str = "2912"
    version: CryptogramVersion = field(init=False)
    icc_mk: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.version = cryptogram_version(self.key.cvn)
        self.icc_mk = self.version.derive_icc_mk(self.key.imk_ac, self.token, self.psn)

    def iad(self, cvn: int | None = None) -> bytes:
        if self.version.iad_format is IadFormat.VISA:
            iad = self.version.build_iad(dki=self.key.dki, cvr=bytes.fromhex("03A000"))
            position = 2
        else:
            iad = self.version.build_iad(dki=self.key.dki, cvr=bytes.fromhex("A50000000000"))
            position = 1
        if cvn is not None:
            iad = iad[:position] + bytes([cvn]) + iad[position + 1 :]
        return iad

    def tap(
        self,
        *,
        amount: int,
        atc: int,
        currency: int = EUR,
        cid: int = 0x80,
        track2: bool = False,
        cvn: int | None = None,
        omit: Iterable[int] = (),
        tvr: bytes = bytes(5),
    ) -> Tap:
        """The EMV data record of a GENERATE AC asking for an ARQC."""
        fields: dict[int, bytes] = {
            0x9F02: encode_n(amount, 6),
            0x9F03: bytes(6),
            0x9F1A: encode_n(250, 2),
            0x95: tvr,
            0x5F2A: encode_n(currency, 2),
            0x9A: bytes.fromhex("261122"),
            0x9C: b"\x00",
            0x9F37: os.urandom(4),
            0x82: bytes.fromhex("1980"),
            0x9F36: atc.to_bytes(2, "big"),
            0x9F10: self.iad(cvn),
        }
        fields[0x9F26] = self.version.generate_ac(self.icc_mk, fields)
        fields[0x9F27] = bytes([cid])
        if track2:
            fields[0x57] = encode_track2(self.token, self.expiry)
        else:
            fields[0x5A] = encode_cn(self.token)
        fields[0x5F34] = encode_n(self.psn, 1)
        for tag in omit:
            fields.pop(tag, None)
        return Tap(tlv.encode_many(fields), fields)

    def accepts(self, tap: Tap, issuer_authentication_data: str) -> bool:
        """The card's check of tag 91 (EMV Book 2 section 8.2)."""
        return self.version.verify_issuer_authentication_data(
            self.icc_mk, tap.fields, tap.arqc, bytes.fromhex(issuer_authentication_data)
        )


class Api:
    """Posts authorizations, each with a fresh idempotency key unless one is given."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self._keys = (f"key-{n}" for n in itertools.count())

    def body(
        self,
        tap: Tap | str,
        amount: int = 1250,
        currency: str = "EUR",
        terminal_id: str = "SHOP0001",
    ) -> dict[str, Any]:
        return {
            "terminal_id": terminal_id,
            "amount": amount,
            "currency": currency,
            "emv_data": tap if isinstance(tap, str) else tap.hex,
        }

    def authorize(self, tap: Tap | str, *, key: str | None = None, **body: Any) -> httpx.Response:
        response: httpx.Response = self.client.post(
            "/v1/authorizations",
            json=self.body(tap, **body),
            headers={"Idempotency-Key": key or next(self._keys)},
        )
        return response
