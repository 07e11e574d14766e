"""Tap! mode: what the terminal's tag carries and what the phone wallet pays with.

In Tap! mode the terminal *is* an NFC Forum Type 4 Tag; the phone reads it and pays the
checkout session the tag names, online. Three parties handle the same few formats and never
import each other, so the formats live here, pure:

- :mod:`~emvcore.tapmode.link`      the tag link: a URI naming a checkout session, with a
  per-tap nonce and a MAC under the terminal's key (built by the terminal, parsed by the
  wallet, verified by the acquirer)
- :mod:`~emvcore.tapmode.ndef`      the NDEF message holding it (a URI record and an Android
  Application Record), and the idle message of a tag with no payable session
- :mod:`~emvcore.tapmode.session`   the transaction data a wallet's application cryptogram
  covers when it pays a session (amount, currency, session nonce)
"""

from emvcore.tapmode.link import (
    LINK_VERSION,
    TapLink,
    accept_link,
    build_link,
    check_link,
    derive_terminal_link_key,
    new_nonce,
    parse_link,
    verify_link,
)
from emvcore.tapmode.ndef import (
    AAR_TYPE,
    IDLE_MESSAGE,
    TapMessage,
    decode_message,
    encode_message,
)
from emvcore.tapmode.session import SESSION_NONCE_LENGTH, session_transaction_data

__all__ = [
    "AAR_TYPE",
    "IDLE_MESSAGE",
    "LINK_VERSION",
    "SESSION_NONCE_LENGTH",
    "TapLink",
    "TapMessage",
    "accept_link",
    "build_link",
    "check_link",
    "decode_message",
    "derive_terminal_link_key",
    "encode_message",
    "new_nonce",
    "parse_link",
    "session_transaction_data",
    "verify_link",
]
