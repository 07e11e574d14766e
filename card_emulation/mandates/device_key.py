"""A phone wallet's device key: the P-256 key that signs mandates and confirmations.

The key is one of the card's secrets, kept beside the card in the card store
(``$TAP_CARD_HOME/device-keys/<card>.json``; a sub-folder, so ``tap-card list`` still lists
cards only), written atomically with owner-only permissions as the card files are::

    {"format": "tap-device-key/1", "card": "alice", "test": true,
     "thumbprint": "<RFC 7638>", "private_key": "-----BEGIN PRIVATE KEY-----..."}

The acquirer registers the public half (a JWK, :meth:`DeviceKey.public_jwk`) with the card's
token; from then on a mandate it verifies is one this key signed. ``thumbprint`` is checked
on every load, so a file whose key was swapped or damaged is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from card_emulation.errors import CardStoreError, PersonalizationError
from card_emulation.image import check_name
from card_emulation.store import default_home
from emvcore.agentpay.keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    jwk_thumbprint,
    private_key_from_pem,
    private_key_to_pem,
    public_jwk,
)
from emvcore.errors import CryptoError
from emvcore.keyfile import write_private_file

FORMAT = "tap-device-key/1"
FOLDER = "device-keys"


@dataclass(frozen=True, slots=True)
class DeviceKey:
    """The device key of the wallet holding card ``card``."""

    card: str
    private_key: PrivateKey = field(repr=False)
    test: bool = True

    @property
    def public_key(self) -> PublicKey:
        """The public half, which the acquirer registers."""
        return self.private_key.public_key()

    @property
    def thumbprint(self) -> str:
        """The key's RFC 7638 thumbprint (a mandate's ``iss``)."""
        return jwk_thumbprint(self.private_key)

    def public_jwk(self) -> dict[str, str]:
        """The public JWK to register at the acquirer."""
        return public_jwk(self.private_key)


class DeviceKeyStore:
    """Device keys kept in the card store's ``device-keys`` folder."""

    def __init__(self, card_root: Path | None = None) -> None:
        self.root = (card_root if card_root is not None else default_home()) / FOLDER

    def path(self, card: str) -> Path:
        """The file of card ``card``'s device key."""
        try:
            return self.root / f"{check_name(card)}.json"
        except PersonalizationError as exc:
            raise CardStoreError(str(exc)) from None

    def exists(self, card: str) -> bool:
        """Whether the card has a device key."""
        return self.path(card).is_file()

    def create(self, card: str, *, test: bool = True) -> DeviceKey:
        """Make and save a fresh device key; a card keeps its key once made."""
        if self.exists(card):
            raise CardStoreError(f"card {card!r} already has a device key")
        key = DeviceKey(card, generate_private_key(), test)
        document = {
            "format": FORMAT,
            "card": card,
            "test": test,
            "thumbprint": key.thumbprint,
            "private_key": private_key_to_pem(key.private_key).decode("ascii"),
        }
        self.root.mkdir(parents=True, exist_ok=True)
        write_private_file(self.path(card), (json.dumps(document, indent=2) + "\n").encode())
        return key

    def load(self, card: str) -> DeviceKey:
        """Read card ``card``'s device key, checking its thumbprint."""
        path = self.path(card)
        try:
            doc: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CardStoreError(f"card {card!r} has no device key in {self.root}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CardStoreError(
                f"device key file {path} cannot be read: {exc.__class__.__name__}"
            ) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT or doc.get("card") != card:
            raise CardStoreError(f"device key file {path} is not a {FORMAT} key of card {card!r}")
        try:
            key = DeviceKey(
                card,
                private_key_from_pem(str(doc["private_key"]).encode("ascii")),
                bool(doc["test"]),
            )
        except (KeyError, UnicodeEncodeError, CryptoError) as exc:
            raise CardStoreError(
                f"device key file {path} is malformed: {exc.__class__.__name__}"
            ) from None
        if key.thumbprint != doc.get("thumbprint"):
            raise CardStoreError(f"device key file {path}: the key does not match its thumbprint")
        return key
