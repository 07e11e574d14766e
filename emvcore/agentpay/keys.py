"""P-256 keys of wallets and agents: generation, PEM, public JWK and RFC 7638 thumbprint.

A wallet's device key signs mandates and confirmations; an agent's key signs payment
bindings and HTTP requests. Both are ECDSA P-256 (ES256, RFC 7518 3.4; ``ecdsa-p256-sha256``,
RFC 9421 3.3.4). A public key travels as a JWK (RFC 7517, RFC 7518 6.2.1) and is named by its
JWK SHA-256 thumbprint (RFC 7638 3), which is what a mandate's ``cnf.jkt`` and a request's
``keyid`` carry. Only public keys are ever read from a JWK: one with a private part is refused.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

from emvcore.errors import CryptoError

PrivateKey = ec.EllipticCurvePrivateKey
PublicKey = ec.EllipticCurvePublicKey

#: JWK members a public P-256 key may carry here; ``d`` (the private part) is not among them.
_JWK_MEMBERS = frozenset({"kty", "crv", "x", "y", "kid", "alg", "use"})


def generate_private_key() -> PrivateKey:
    """A fresh P-256 private key (for a wallet device or an agent)."""
    return ec.generate_private_key(ec.SECP256R1())


def private_key_to_pem(key: PrivateKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM, for a file written with owner-only permissions."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def private_key_from_pem(pem: bytes) -> PrivateKey:
    """Load a PKCS#8 (or SEC 1) PEM private key, which must be on P-256."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"not a PEM private key ({exc.__class__.__name__})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise CryptoError("the private key is not an EC key on P-256")
    return key


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _coordinate(jwk: Mapping[str, object], name: str) -> int:
    value = jwk.get(name)
    if not isinstance(value, str) or len(value) != 43:
        raise CryptoError(f"JWK member {name!r} must be 32 bytes in base64url")
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except (ValueError, TypeError):
        raise CryptoError(f"JWK member {name!r} is not base64url") from None
    if _b64url(raw) != value:  # non-canonical padding bits
        raise CryptoError(f"JWK member {name!r} is not canonical base64url")
    return int.from_bytes(raw, "big")


def public_jwk(key: PublicKey | PrivateKey) -> dict[str, str]:
    """The public JWK of a key: exactly ``kty``, ``crv``, ``x`` and ``y`` (RFC 7518 6.2.1).

    >>> sorted(public_jwk(generate_private_key()))
    ['crv', 'kty', 'x', 'y']
    """
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64url(numbers.x.to_bytes(32, "big")),
        "y": _b64url(numbers.y.to_bytes(32, "big")),
    }


def public_key_from_jwk(jwk: object) -> PublicKey:
    """The P-256 public key of a JWK; anything else (RSA, another curve, ``d``) is refused.

    The point is checked to lie on the curve (``cryptography`` refuses one that does not),
    so an invalid-curve key cannot be smuggled in through a JWS header.
    """
    if not isinstance(jwk, Mapping) or not all(isinstance(k, str) for k in jwk):
        raise CryptoError("a JWK must be a JSON object")
    extra = set(jwk) - _JWK_MEMBERS
    if extra:
        raise CryptoError(f"JWK members not allowed for a public P-256 key: {sorted(extra)}")
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        raise CryptoError("the JWK is not an EC key on P-256")
    if jwk.get("alg", "ES256") != "ES256" or jwk.get("use", "sig") != "sig":
        raise CryptoError("the JWK is not a signing key for ES256")
    try:
        numbers = ec.EllipticCurvePublicNumbers(
            _coordinate(jwk, "x"), _coordinate(jwk, "y"), ec.SECP256R1()
        )
        return numbers.public_key()
    except ValueError:
        raise CryptoError("the JWK's point is not on P-256") from None


def jwk_thumbprint(key: PublicKey | PrivateKey) -> str:
    """The JWK SHA-256 thumbprint of the key's public JWK, base64url (RFC 7638 3.1).

    The hash input is the JSON of the required members only, in lexicographic order and
    without white space (RFC 7638 3.2, 3.3); ``joserfc`` builds it.

    >>> len(jwk_thumbprint(generate_private_key()))
    43
    """
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return str(ECKey.import_key(public).thumbprint())
