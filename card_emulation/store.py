"""The card store: one JSON file per personalized card, ATC persisted between runs.

Files live in ``$TAP_CARD_HOME`` (default ``~/.local/share/tap/cards``), are written
atomically with owner-only permissions (they hold the card's ICC master key, as a chip
would), and are re-written each time the ATC moves, so a card never repeats a counter
value even if the process is killed between two taps.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from card_emulation.errors import CardStoreError, PersonalizationError
from card_emulation.image import CardImage, Fault, check_name
from card_emulation.oda import OdaKeys
from emvcore.errors import TokenRecordError
from emvcore.keyfile import write_private_file
from emvcore.provisioning import TokenRecord

FORMAT = "tap-card/1"


def default_home() -> Path:
    """``$TAP_CARD_HOME`` or ``~/.local/share/tap/cards``."""
    env = os.environ.get("TAP_CARD_HOME")
    return Path(env) if env else Path.home() / ".local" / "share" / "tap" / "cards"


class CardStore:
    """Personalized cards kept as files in one folder."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_home()

    def path(self, name: str) -> Path:
        """The file of card ``name`` (a name that is no valid card name is a store error)."""
        try:
            return self.root / f"{check_name(name)}.json"
        except PersonalizationError as exc:
            raise CardStoreError(str(exc)) from None

    def exists(self, name: str) -> bool:
        """Whether a card of that name is stored."""
        return self.path(name).is_file()

    def save(self, card: CardImage) -> None:
        """Write (or overwrite) a card's file atomically."""
        document = {
            "format": FORMAT,
            "name": card.name,
            "profile": card.profile,
            "token": card.token,
            "expiry": card.expiry,
            "psn": card.psn,
            "par": card.par,
            "dki": card.dki,
            "icc_mk": card.icc_mk.hex().upper(),
            "atc": card.atc,
            "faults": sorted(card.faults),
            "test": card.test,
            "oda": _oda_document(card.oda),
        }
        if card.icc_mk_smi is not None:
            document["icc_mk_smi"] = card.icc_mk_smi.hex().upper()
        write_private_file(self.path(card.name), (json.dumps(document, indent=2) + "\n").encode())

    def load(self, name: str) -> CardImage:
        """Read card ``name``; the error says how to make one when it is missing."""
        path = self.path(name)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CardStoreError(
                f"no card named {name!r} in {self.root} (see `tap-card list`, make one with `tap-card personalize`)"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CardStoreError(
                f"card file {path} cannot be read: {exc.__class__.__name__}"
            ) from None
        return _parse(path, text)

    def names(self) -> list[str]:
        """Names of the stored cards, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.stem for p in self.root.glob("*.json") if not p.name.startswith("."))


def _optional_key(path: Path, value: Any) -> bytes | None:
    if value is None:
        return None
    key = bytes.fromhex(value)
    if len(key) != 16:
        raise CardStoreError(f"card file {path}: icc_mk_smi must be 16 bytes")
    return key


def _parse(path: Path, text: str) -> CardImage:
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardStoreError(f"card file {path} is not JSON (line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CardStoreError(f"card file {path} is not in format {FORMAT}")
    try:
        atc = doc["atc"]
        if not isinstance(atc, int) or isinstance(atc, bool) or not 0 <= atc <= 0xFFFF:
            raise CardStoreError(f"card file {path}: atc must be an integer 0..65535")
        icc_mk = bytes.fromhex(doc["icc_mk"])
        if len(icc_mk) != 16:
            raise CardStoreError(f"card file {path}: icc_mk must be 16 bytes")
        try:  # the token record's own checks: the applet builds its records from these
            TokenRecord(str(doc["token"]), str(doc["expiry"]), str(doc["psn"]), str(doc["par"]),
                        "card", True)  # fmt: skip
        except TokenRecordError as exc:
            raise CardStoreError(f"card file {path}: {exc}") from None
        return CardImage(
            name=str(doc["name"]),
            profile=str(doc["profile"]),
            token=str(doc["token"]),
            expiry=str(doc["expiry"]),
            psn=str(doc["psn"]),
            par=str(doc["par"]),
            dki=int(doc["dki"]),
            icc_mk=icc_mk,
            atc=atc,
            faults=frozenset(Fault(f) for f in doc.get("faults", [])),
            test=bool(doc.get("test", True)),
            oda=_oda_keys(doc.get("oda")),
            icc_mk_smi=_optional_key(path, doc.get("icc_mk_smi")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CardStoreError(
            f"card file {path} is malformed: {exc.__class__.__name__} {exc}"
        ) from None


_ODA_BYTES = (
    "issuer_certificate",
    "issuer_remainder",
    "issuer_exponent",
    "icc_certificate",
    "icc_remainder",
    "icc_exponent",
)


def _oda_document(oda: OdaKeys | None) -> dict[str, Any] | None:
    if oda is None:
        return None
    document: dict[str, Any] = {"ca_index": oda.ca_index}
    document.update({name: getattr(oda, name).hex().upper() for name in _ODA_BYTES})
    document["icc_private_key"] = oda.icc_private_key.decode("ascii")
    return document


def _oda_keys(document: Any) -> OdaKeys | None:
    """ODA keys from a card file (KeyError/TypeError/ValueError mean a malformed file)."""
    if document is None:
        return None
    values = {name: bytes.fromhex(document[name]) for name in _ODA_BYTES}
    return OdaKeys(
        ca_index=int(document["ca_index"]),
        icc_private_key=str(document["icc_private_key"]).encode("ascii"),
        **values,
    )
