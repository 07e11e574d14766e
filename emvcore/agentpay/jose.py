"""Strict compact JWS (RFC 7515 7.1) for the three signed artefacts: ES256 and nothing else.

The mandate, the agent's payment binding and the wallet's confirmation are compact JWS
signed ES256 (ECDSA P-256 SHA-256, RFC 7518 3.4). ``joserfc`` computes and checks the
signatures; this module is the policy in front of it, applied before any key is used:

- exactly three base64url segments, canonical, at most :data:`MAX_TOKEN_LENGTH` characters;
- ``alg`` must be ``ES256``: ``none``, ``HS256`` (the "public key as HMAC secret" confusion)
  and every other value are refused with ``<artefact>_algorithm_refused``;
- ``typ`` must be the artefact's explicit type (RFC 8725 3.11), so one artefact cannot be
  presented as another (``<artefact>_type_invalid``);
- any ``crit`` header is refused (``<artefact>_critical_header``): we understand no
  extension, and RFC 7515 4.1.11 says a recipient that does not must reject the JWS;
- header members outside the artefact's short list (``jku``, ``x5u``, ``b64`` ...) are refused;
- the payload is one JSON object read by :func:`~emvcore.agentpay.canonical.parse_object`
  (no duplicate names, no floats).

The payload is signed in its RFC 8785 canonical form, so a verifier that re-serializes the
claims gets the signed bytes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from emvcore.agentpay.canonical import JsonError, b64url_decode, canonical_json, parse_object
from emvcore.agentpay.keys import PrivateKey, PublicKey
from emvcore.agentpay.reasons import Artefact, JwsFailure, jws_reason
from emvcore.errors import AgentPayError

ALGORITHM = "ES256"
#: A compact JWS longer than this is refused before it is decoded (a mandate is ~1 KiB).
MAX_TOKEN_LENGTH = 16_384
#: Bound on the clock difference tolerated between signer and verifier, in seconds.
CLOCK_SKEW = 60


@dataclass(frozen=True, slots=True)
class JwsProfile:
    """What one artefact's JWS must look like: its ``typ``, error class and header members."""

    artefact: Artefact
    typ: str
    error: type[AgentPayError]
    #: Header members allowed besides ``alg`` and ``typ``.
    members: frozenset[str] = frozenset({"kid"})

    def fail(self, failure: JwsFailure, message: str) -> AgentPayError:
        """The artefact's error for a JWS failure."""
        return self.error(jws_reason(self.artefact, failure), message)


@dataclass(frozen=True, slots=True)
class ReadJws:
    """A compact JWS whose header passed the profile (signature not yet checked)."""

    token: str
    header: dict[str, Any]
    payload: bytes


def sign(profile: JwsProfile, claims: Mapping[str, Any], key: PrivateKey, **header: Any) -> str:
    """Sign ``claims`` (canonical JSON) as a compact JWS of the profile's ``typ``."""
    protected = {"alg": ALGORITHM, "typ": profile.typ, **header}
    unknown = set(protected) - {"alg", "typ"} - profile.members
    if unknown:
        raise profile.fail("malformed", f"header members not allowed: {sorted(unknown)}")
    try:
        payload = canonical_json(dict(claims))
    except JsonError as exc:
        raise profile.fail("malformed", str(exc)) from None
    return jws.serialize_compact(protected, payload, ECKey.import_key(key), algorithms=[ALGORITHM])


def read(profile: JwsProfile, token: object) -> ReadJws:
    """Split a compact JWS and apply the profile to its header; the signature is not checked."""
    if not isinstance(token, str) or not token.isascii() or len(token) > MAX_TOKEN_LENGTH:
        raise profile.fail(
            "malformed", f"not a compact JWS of at most {MAX_TOKEN_LENGTH} characters"
        )
    parts = token.split(".")
    if len(parts) != 3:
        raise profile.fail("malformed", "a compact JWS has three segments")
    try:
        header = parse_object(b64url_decode(parts[0]))
        payload = b64url_decode(parts[1])
        b64url_decode(parts[2])
    except JsonError as exc:
        raise profile.fail("malformed", f"JWS segment: {exc}") from None
    if "crit" in header:
        raise profile.fail(
            "critical_header", f"critical header members {header['crit']!r} are not understood"
        )
    if header.get("alg") != ALGORITHM:
        raise profile.fail(
            "algorithm_refused", f"alg {header.get('alg')!r} is refused: only {ALGORITHM}"
        )
    if header.get("typ") != profile.typ:
        raise profile.fail("type_invalid", f"typ {header.get('typ')!r} is not {profile.typ!r}")
    unknown = set(header) - {"alg", "typ"} - profile.members
    if unknown:
        raise profile.fail("malformed", f"header members not allowed: {sorted(unknown)}")
    return ReadJws(token, header, payload)


def verify(profile: JwsProfile, read_jws: ReadJws, key: PublicKey) -> dict[str, Any]:
    """Check the ES256 signature with ``key``, then read the claims strictly."""
    try:
        jws.deserialize_compact(read_jws.token, ECKey.import_key(key), algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise profile.fail(
            "signature_invalid", f"ES256 signature does not verify ({exc.__class__.__name__})"
        ) from None
    try:
        return parse_object(read_jws.payload)
    except JsonError as exc:
        raise profile.fail("malformed", f"claims: {exc}") from None


def verified_claims(profile: JwsProfile, token: object, key: PublicKey) -> dict[str, Any]:
    """:func:`read` then :func:`verify`: the claims of a JWS signed by ``key``."""
    return verify(profile, read(profile, token), key)
