"""The Tap! tag link: a URI naming one checkout session, signed by the terminal.

The terminal writes it into its tag for every transaction, the phone wallet reads and
parses it, the acquirer verifies it. It carries nothing secret::

    <base>/v1/<session>?n=<nonce>&t=<terminal>&m=<mac>

    base      the acquirer's Tap! base URL from the settings, e.g. https://pay.example/tap
              (https, no query, no fragment, no trailing slash)
    v1        the link format version; any other version is refused
    session   the checkout session id the acquirer handed out: 16-64 of A-Z a-z 0-9 _ -
    n         the per-tap nonce: 12 random bytes, base64url without padding (16 characters)
    t         the terminal id: 1-16 of A-Z a-z 0-9 (the acquirer's terminal id pattern)
    m         the MAC: HMAC-SHA256 under the terminal's link key, truncated to 16 bytes
              (RFC 2104; truncation as in RFC 4868 section 2.3), base64url (22 characters)

The MAC covers the canonical string ``tap-link|v1|<terminal>|<session>|<n>`` (ASCII; ``|``
is in none of the alphabets, so the string has exactly one reading). The base URL is not
MACed: it is the wallet's trust anchor, compared exactly with the wallet's own setting, so
a sticker pointing elsewhere is refused before anything is fetched.

Parsing is strict: exactly the three parameters once each, canonical base64url (no
padding, no stray bits), the lengths above, no fragment. What a copied or swapped sticker
cannot do: name another terminal's session (the acquirer checks the session's terminal is
``t`` and the MAC under ``t``'s key), or be paid twice with one nonce (the acquirer claims
each nonce once, :func:`accept_link`).

>>> key = bytes(range(32))  # an example key; real keys come from the terminal's key file
>>> link = build_link("https://pay.example/tap", "SHOP0001", "cs_01KDVDNA00ABCDEFGHJKMN",
...                   key, nonce=bytes(12))
>>> link.uri
'https://pay.example/tap/v1/cs_01KDVDNA00ABCDEFGHJKMN?n=AAAAAAAAAAAAAAAA&t=SHOP0001&m=G0w8u4h-UhtR-vxqWPOV6w'
>>> parse_link(link.uri, "https://pay.example/tap") == link
True
>>> verify_link(link, key), verify_link(link, bytes(32))
(True, False)
>>> parse_link(link.uri.replace("/v1/", "/v2/"), "https://pay.example/tap")
Traceback (most recent call last):
...
emvcore.errors.TapLinkFormatError: link version 'v2' is not supported (only v1)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from emvcore.errors import TapLinkForgedError, TapLinkFormatError, TapLinkReplayedError

__all__ = [
    "LINK_VERSION",
    "MAC_LENGTH",
    "MIN_KEY_LENGTH",
    "NONCE_LENGTH",
    "TapLink",
    "accept_link",
    "build_link",
    "canonical_string",
    "check_link",
    "derive_terminal_link_key",
    "new_nonce",
    "parse_link",
    "verify_link",
]

LINK_VERSION: Final = "v1"
NONCE_LENGTH: Final = 12
MAC_LENGTH: Final = 16
MIN_KEY_LENGTH: Final = 16
#: A tag link never needs more; anything longer is refused before it is looked at.
MAX_URI_LENGTH: Final = 512

_TERMINAL = re.compile(r"[A-Za-z0-9]{1,16}")
_SESSION = re.compile(r"[A-Za-z0-9_-]{16,64}")
_VERSION = re.compile(r"v[0-9]{1,3}")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
_BASE = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str, what: str, length: int) -> bytes:
    """Canonical base64url without padding (RFC 4648 section 5) of exactly ``length`` bytes."""
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        raise TapLinkFormatError(f"link parameter {what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise TapLinkFormatError(f"link parameter {what} is not base64url") from None
    if _b64encode(data) != text:  # stray bits in the last character: not canonical
        raise TapLinkFormatError(f"link parameter {what} is not canonical base64url")
    if len(data) != length:
        raise TapLinkFormatError(f"link parameter {what} is {len(data)} bytes, not {length}")
    return data


def _check_base(base_url: str) -> str:
    if not _BASE.fullmatch(base_url):
        raise TapLinkFormatError(
            "the Tap! base URL must be https://host[:port][/path], without query, "
            "fragment or trailing slash"
        )
    return base_url


def _check_ids(terminal_id: str, session_id: str) -> None:
    if not _TERMINAL.fullmatch(terminal_id):
        raise TapLinkFormatError("a terminal id is 1-16 letters and digits")
    if not _SESSION.fullmatch(session_id):
        raise TapLinkFormatError("a session id is 16-64 of A-Z, a-z, 0-9, '_' and '-'")


def canonical_string(version: str, terminal_id: str, session_id: str, nonce: bytes) -> bytes:
    """The bytes the link's MAC covers.

    >>> canonical_string("v1", "SHOP0001", "cs_0123456789ABCDEF", bytes(12))
    b'tap-link|v1|SHOP0001|cs_0123456789ABCDEF|AAAAAAAAAAAAAAAA'
    """
    return f"tap-link|{version}|{terminal_id}|{session_id}|{_b64encode(nonce)}".encode("ascii")


def _mac(key: bytes, message: bytes) -> bytes:
    if len(key) < MIN_KEY_LENGTH:
        raise TapLinkFormatError(f"a link key is at least {MIN_KEY_LENGTH} bytes long")
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_LENGTH]


@dataclass(frozen=True, slots=True)
class TapLink:
    """One parsed (or built) tag link. Nothing in it is secret."""

    base_url: str
    terminal_id: str
    session_id: str
    nonce: bytes
    mac: bytes
    version: str = LINK_VERSION

    @property
    def canonical(self) -> bytes:
        """What :attr:`mac` covers (:func:`canonical_string`)."""
        return canonical_string(self.version, self.terminal_id, self.session_id, self.nonce)

    @property
    def uri(self) -> str:
        """The link as written into the tag's URI record."""
        return (
            f"{self.base_url}/{self.version}/{self.session_id}"
            f"?n={_b64encode(self.nonce)}&t={self.terminal_id}&m={_b64encode(self.mac)}"
        )


def new_nonce() -> bytes:
    """A fresh per-tap nonce (12 bytes from the operating system's CSPRNG)."""
    return secrets.token_bytes(NONCE_LENGTH)


def build_link(
    base_url: str, terminal_id: str, session_id: str, key: bytes, *, nonce: bytes | None = None
) -> TapLink:
    """The link for one tap: a fresh nonce (unless given) and the MAC under ``key``."""
    _check_base(base_url)
    _check_ids(terminal_id, session_id)
    nonce = new_nonce() if nonce is None else nonce
    if len(nonce) != NONCE_LENGTH:
        raise TapLinkFormatError(f"a link nonce is {NONCE_LENGTH} bytes long")
    mac = _mac(key, canonical_string(LINK_VERSION, terminal_id, session_id, nonce))
    return TapLink(base_url, terminal_id, session_id, nonce, mac)


def parse_link(uri: str, base_url: str) -> TapLink:
    """Parse a link under ``base_url``, strictly; :class:`TapLinkFormatError` otherwise.

    >>> base = "https://pay.example/tap"
    >>> parse_link("https://evil.example/tap/v1/cs_0123456789ABCDEF?n=x", base)
    Traceback (most recent call last):
    ...
    emvcore.errors.TapLinkFormatError: the link is not under the Tap! base URL
    >>> good = "https://pay.example/tap/v1/cs_0123456789ABCDEF?n=AAAAAAAAAAAAAAAA&t=T1&m="
    >>> parse_link(good + "A" * 22 + "&x=1", base)
    Traceback (most recent call last):
    ...
    emvcore.errors.TapLinkFormatError: link parameters must be exactly n, t and m, once each
    >>> parse_link(good + "A" * 21 + "=", base)
    Traceback (most recent call last):
    ...
    emvcore.errors.TapLinkFormatError: link parameter m is not base64url
    """
    _check_base(base_url)
    if len(uri) > MAX_URI_LENGTH:
        raise TapLinkFormatError(f"the link is longer than {MAX_URI_LENGTH} characters")
    prefix = base_url + "/"
    if not uri.startswith(prefix):
        raise TapLinkFormatError("the link is not under the Tap! base URL")
    if "#" in uri:
        raise TapLinkFormatError("a link has no fragment")
    path, separator, query = uri[len(prefix) :].partition("?")
    version, slash, session_id = path.partition("/")
    if not _VERSION.fullmatch(version) or not slash:
        raise TapLinkFormatError("the link path is not <version>/<session>")
    if version != LINK_VERSION:
        raise TapLinkFormatError(f"link version {version!r} is not supported (only {LINK_VERSION})")
    if not separator:
        raise TapLinkFormatError("the link has no parameters")
    pairs = [item.partition("=") for item in query.split("&")]
    params = {name: value for name, sep, value in pairs if sep}
    if len(pairs) != 3 or len(params) != 3 or set(params) != {"n", "t", "m"}:
        raise TapLinkFormatError("link parameters must be exactly n, t and m, once each")
    terminal_id = params["t"]
    _check_ids(terminal_id, session_id)
    nonce = _b64decode(params["n"], "n", NONCE_LENGTH)
    mac = _b64decode(params["m"], "m", MAC_LENGTH)
    return TapLink(base_url, terminal_id, session_id, nonce, mac, version)


def verify_link(link: TapLink, key: bytes) -> bool:
    """Whether the link's MAC is right under the terminal's ``key`` (constant-time compare)."""
    return hmac.compare_digest(_mac(key, link.canonical), link.mac)


def derive_terminal_link_key(master_key: bytes, terminal_id: str) -> bytes:
    """A terminal's 32-byte link key from the acquirer's link master key.

    HMAC-SHA256(master, ``tap-link-key|<terminal>``) (RFC 2104 as a PRF, as in HKDF's
    expand step, RFC 5869): the acquirer keeps one master key and hands each terminal its
    own key when it is registered; one terminal's key reveals nothing of another's.

    >>> derive_terminal_link_key(bytes(32), "SHOP0001").hex()[:16]
    '4fd4e1c44b4965dd'
    """
    if len(master_key) < MIN_KEY_LENGTH:
        raise TapLinkFormatError(f"a link master key is at least {MIN_KEY_LENGTH} bytes long")
    _check_ids(terminal_id, "x" * 16)
    label = f"tap-link-key|{terminal_id}".encode("ascii")
    return hmac.new(master_key, label, hashlib.sha256).digest()


def check_link(uri: str, base_url: str, key_for: Callable[[str], bytes | None]) -> TapLink:
    """Parse and authenticate a link, without using up its nonce (fetching a session).

    ``key_for(terminal_id)`` is the terminal's link key, ``None`` for an unknown terminal,
    which is refused exactly as a wrong MAC is (:class:`TapLinkForgedError`), so a prober
    learns nothing about which terminal ids exist. The caller must still check that the
    session it finds belongs to ``link.terminal_id``.
    """
    link = parse_link(uri, base_url)
    key = key_for(link.terminal_id)
    if key is None or not verify_link(link, key):
        raise TapLinkForgedError("the link's MAC does not verify")
    return link


def accept_link(
    uri: str,
    base_url: str,
    key_for: Callable[[str], bytes | None],
    claim_nonce: Callable[[TapLink], bool],
) -> TapLink:
    """What the acquirer calls when a wallet pays: :func:`check_link`, then use the nonce up.

    ``claim_nonce(link)`` records ``(link.terminal_id, link.nonce)`` as used and returns
    True, or returns False when it was used before (in the store: an INSERT under a unique
    constraint, ON CONFLICT DO NOTHING, in the payment's own transaction). A forged link
    never reaches it, so forgeries cannot burn a genuine tap's nonce.
    """
    link = check_link(uri, base_url, key_for)
    if not claim_nonce(link):
        raise TapLinkReplayedError("the link's nonce was used before")
    return link
