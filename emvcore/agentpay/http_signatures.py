"""Agent request signatures: RFC 9421 HTTP Message Signatures, as Visa's Trusted Agent Protocol.

Every request an agent sends to the acquirer's REST entry is signed by its key, the way
Visa's TAP has registered agents sign their requests to merchants: ``ecdsa-p256-sha256``
(RFC 9421 3.3.4) over the covered components :data:`COVERED` (``@method``, ``@target-uri``
and the RFC 9530 ``content-digest`` of the body, so neither the route nor the body can be
changed), with the signature parameters ``created``, ``nonce``, ``keyid`` (the agent key's
RFC 7638 thumbprint), ``alg`` and ``tag`` (:data:`TAG`)::

    Content-Digest: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
    Signature-Input: agent=("@method" "@target-uri" "content-digest");created=1767225600;\
nonce="...";keyid="<thumbprint>";alg="ecdsa-p256-sha256";tag="agent-payer-auth"
    Signature: agent=:<64 bytes r || s, base64>:

The ``http-message-signatures`` package (pyauth; typed, strict about RFC 9421's base
construction, Structured Fields and the RFC 9530 digest) builds and checks the signature
base; this module adds the policy it leaves to the caller: the key comes from the
acquirer's registry of agent keys (``keys``), the covered components must include
:data:`COVERED`, ``created`` must lie within ``[now - MAX_AGE - skew, now + skew]`` on the
verifier's clock (TAP bounds a signature's life to 8 minutes; we take 5), ``expires``, when
given, must not have passed, and the nonce must be new in the replay cache.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from http_message_signatures import (
    ContentDigest,
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from emvcore.agentpay import jose
from emvcore.agentpay.binding import new_nonce
from emvcore.agentpay.fields import NONCE
from emvcore.agentpay.keys import PrivateKey, PublicKey, jwk_thumbprint
from emvcore.agentpay.reasons import Reason
from emvcore.agentpay.replay import ReplayCache
from emvcore.errors import RequestSignatureError

ALGORITHM = algorithms.ECDSA_P256_SHA256
#: The components every agent request signature must cover.
COVERED = ("@method", "@target-uri", "content-digest")
#: The signature's application tag (TAP's tag for payment interactions).
TAG = "agent-payer-auth"
LABEL = "agent"
#: Seconds a signed request stays acceptable after ``created``.
MAX_AGE = 300


@dataclass(slots=True)
class HttpRequest:
    """The parts of an HTTP request that are signed: method, absolute URL, headers, body.

    ``headers`` is a plain dict (field name -> combined value); :func:`sign_request` adds
    ``Content-Digest``, ``Signature-Input`` and ``Signature`` to it.
    """

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class VerifiedRequest:
    """Who signed a request, and with which nonce, when."""

    keyid: str
    nonce: str
    created: int


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self,
        private: PrivateKey | None = None,
        public: Callable[[str], PublicKey | None] | None = None,
    ):
        self._private = private
        self._public = public
        self.unknown: str | None = None

    def resolve_private_key(self, key_id: str) -> Any:
        return self._private

    def resolve_public_key(self, key_id: str) -> Any:
        key = None if self._public is None else self._public(key_id)
        if key is None:
            self.unknown = key_id
        return key


class _Verifier(HTTPMessageVerifier):
    """Time checks are ours, on the caller's clock: the base class's only checks presence."""

    require_created = True

    def validate_created_and_expires(self, sig_input: Any, max_age: Any = None) -> None:
        if type(sig_input.params.get("created")) is not int:
            raise InvalidSignature('Signature is missing a required integer "created" parameter')


def _time(now: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(now, tz=datetime.UTC)


def sign_request(
    request: HttpRequest, *, agent_key: PrivateKey, now: int, nonce: str | None = None
) -> HttpRequest:
    """Sign ``request`` in place with the agent's key (keyid: its thumbprint) and return it."""
    signer = HTTPMessageSigner(signature_algorithm=ALGORITHM, key_resolver=_Keys(private=agent_key))
    signer.sign(
        request,
        key_id=jwk_thumbprint(agent_key),
        created=_time(now),
        nonce=new_nonce() if nonce is None else nonce,
        label=LABEL,
        tag=TAG,
        covered_component_ids=COVERED,
        body=request.body,
    )
    return request


def _fail(reason: Reason, message: str) -> RequestSignatureError:
    return RequestSignatureError(reason, message)


def verify_request(
    request: HttpRequest,
    *,
    keys: Callable[[str], PublicKey | None],
    replay: ReplayCache,
    now: int,
) -> VerifiedRequest:
    """Verify an agent's request signature at ``now``; ``keys`` resolves a keyid to its key.

    Refusals: no signature (``request_signature_missing``), a body that is not the one
    digested (``request_digest_mismatch``), an unknown keyid (``request_key_unknown``), a bad
    or malformed signature (``request_signature_invalid``), a signature that does not cover
    :data:`COVERED` or has no nonce (``request_components_missing``), ``created`` outside the
    window or ``expires`` passed (``request_stale``), a nonce seen before
    (``request_replayed``).
    """
    names = {name.lower(): value for name, value in request.headers.items()}
    if "signature-input" not in names or "signature" not in names:
        raise _fail(
            Reason.REQUEST_SIGNATURE_MISSING, "the request carries no HTTP message signature"
        )
    if "content-digest" not in names:
        raise _fail(Reason.REQUEST_COMPONENTS_MISSING, "the request carries no Content-Digest")
    try:
        ContentDigest.verify(names["content-digest"], request.body)
    except InvalidSignature as exc:
        raise _fail(Reason.REQUEST_DIGEST_MISMATCH, f"Content-Digest: {exc}") from None
    resolver = _Keys(public=keys)
    verifier = _Verifier(signature_algorithm=ALGORITHM, key_resolver=resolver)
    try:
        results = verifier.verify(request, max_age=None, expect_tag=TAG)
    except (InvalidSignature, HTTPMessageSignaturesException) as exc:
        if resolver.unknown is not None:
            raise _fail(
                Reason.REQUEST_KEY_UNKNOWN, "the signature's keyid is not a registered agent key"
            ) from None
        raise _fail(
            Reason.REQUEST_SIGNATURE_INVALID, f"the signature does not verify: {exc}"
        ) from None
    if len(results) != 1:
        raise _fail(
            Reason.REQUEST_SIGNATURE_INVALID,
            f"expected one signature tagged {TAG!r}, found {len(results)}",
        )
    result = results[0]
    covered = {name.strip('"') for name in result.covered_components} - {"@signature-params"}
    if not set(COVERED) <= covered or result.nonce is None:
        raise _fail(
            Reason.REQUEST_COMPONENTS_MISSING,
            f"the signature must cover {COVERED} and carry a nonce",
        )
    try:  # the digest that was signed, against the body received
        ContentDigest.verify_components(result.covered_components, request.body)
    except InvalidSignature as exc:
        raise _fail(Reason.REQUEST_DIGEST_MISMATCH, f"signed Content-Digest: {exc}") from None
    if not NONCE.fullmatch(result.nonce):
        raise _fail(
            Reason.REQUEST_SIGNATURE_INVALID, "the nonce must be 128 to 384 bits of base64url"
        )
    created = int(result.parameters["created"])
    if not now - MAX_AGE - jose.CLOCK_SKEW <= created <= now + jose.CLOCK_SKEW:
        raise _fail(Reason.REQUEST_STALE, f"created {created} is outside the accepted window")
    expires = result.parameters.get("expires")
    if isinstance(expires, int) and expires + jose.CLOCK_SKEW < now:
        raise _fail(Reason.REQUEST_STALE, f"the signature expired at {expires}")
    keyid = str(result.parameters["keyid"])
    if not replay.first_use(
        f"request:{keyid}", result.nonce, expires_at=created + MAX_AGE + jose.CLOCK_SKEW, now=now
    ):
        raise _fail(Reason.REQUEST_REPLAYED, "this request's nonce was already used")
    return VerifiedRequest(keyid=keyid, nonce=result.nonce, created=created)
