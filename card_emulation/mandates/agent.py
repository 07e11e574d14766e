"""An agent's key pair, for tests and demos: it signs payment bindings and HTTP requests.

Real agents hold their own keys; the acquirer only ever sees their public JWKs. This helper
is what the tests (and ``make demo``) use to play the agent's part.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from emvcore.agentpay.binding import sign_payment_binding
from emvcore.agentpay.checkout import Checkout
from emvcore.agentpay.http_signatures import HttpRequest, sign_request
from emvcore.agentpay.keys import (
    PrivateKey,
    PublicKey,
    generate_private_key,
    jwk_thumbprint,
    public_jwk,
)


@dataclass(frozen=True, slots=True)
class AgentKeyPair:
    """An agent's P-256 key."""

    private_key: PrivateKey = field(default_factory=generate_private_key, repr=False)

    @property
    def public_key(self) -> PublicKey:
        """The key a mandate names and the acquirer registers."""
        return self.private_key.public_key()

    @property
    def thumbprint(self) -> str:
        """RFC 7638 thumbprint: the mandate's ``cnf.jkt`` and the requests' ``keyid``."""
        return jwk_thumbprint(self.private_key)

    def public_jwk(self) -> dict[str, str]:
        """The public JWK."""
        return public_jwk(self.private_key)

    def bind(
        self, *, mandate_id: str, checkout: Checkout, now: int, nonce: str | None = None
    ) -> str:
        """Sign ``checkout`` under ``mandate_id`` (the closed payment binding)."""
        return sign_payment_binding(
            mandate_id=mandate_id,
            checkout=checkout,
            agent_key=self.private_key,
            now=now,
            nonce=nonce,
        )

    def sign(self, request: HttpRequest, *, now: int, nonce: str | None = None) -> HttpRequest:
        """Sign an HTTP request (RFC 9421) in place."""
        return sign_request(request, agent_key=self.private_key, now=now, nonce=nonce)
