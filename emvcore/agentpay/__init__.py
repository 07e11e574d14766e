"""Agent payments (AI Pay): mandates, payment bindings, confirmations, agent request signatures.

The shared, pure formats a person's wallet, an agent and the acquirer exchange when an agent
pays a checkout session on the person's behalf (issue 16; AP2, ACP and Visa TAP are the
public references, mapped field by field in :mod:`emvcore.agentpay.mandate`):

- :mod:`.mandate`          the wallet-signed mandate (compact JWS, ES256): payer, limits,
                           payees, validity, single use or recurring, human present or not
- :mod:`.checkout`         a checkout session's canonical form (RFC 8785) and its hash
- :mod:`.binding`          the agent's signature over one checkout under one mandate
- :mod:`.confirmation`     the wallet's signature that the person accepts the final cart
- :mod:`.chain`            wallet key -> mandate -> agent key -> this checkout, as a decision
- :mod:`.http_signatures`  agents' RFC 9421 request signatures with a Content-Digest
- :mod:`.replay`           the replay cache interface and an in-memory implementation
- :mod:`.keys`             P-256 keys, public JWKs and RFC 7638 thumbprints
- :mod:`.reasons`          the stable reason codes of every refusal

Every refusal is an :class:`~emvcore.errors.AgentPayError` carrying a
:class:`~emvcore.agentpay.reasons.Reason`. Time is always passed in (``now``, seconds since
the Unix epoch), never read from the clock, so every function here is deterministic.
"""

from emvcore.agentpay.binding import PaymentBinding, sign_payment_binding, verify_payment_binding
from emvcore.agentpay.chain import ChainAccepted, ChainRefused, check_chain
from emvcore.agentpay.checkout import Checkout, LineItem
from emvcore.agentpay.confirmation import (
    Confirmation,
    Decision,
    sign_confirmation,
    verify_confirmation,
)
from emvcore.agentpay.http_signatures import (
    HttpRequest,
    VerifiedRequest,
    sign_request,
    verify_request,
)
from emvcore.agentpay.keys import (
    generate_private_key,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)
from emvcore.agentpay.mandate import (
    Mandate,
    Period,
    Presence,
    Recurrence,
    new_mandate_id,
    sign_mandate,
    verify_mandate,
)
from emvcore.agentpay.reasons import Reason
from emvcore.agentpay.replay import MemoryReplayCache, ReplayCache

__all__ = [
    "ChainAccepted",
    "ChainRefused",
    "Checkout",
    "Confirmation",
    "Decision",
    "HttpRequest",
    "LineItem",
    "Mandate",
    "MemoryReplayCache",
    "PaymentBinding",
    "Period",
    "Presence",
    "Reason",
    "Recurrence",
    "ReplayCache",
    "VerifiedRequest",
    "check_chain",
    "generate_private_key",
    "jwk_thumbprint",
    "new_mandate_id",
    "public_jwk",
    "public_key_from_jwk",
    "sign_confirmation",
    "sign_mandate",
    "sign_payment_binding",
    "sign_request",
    "verify_confirmation",
    "verify_mandate",
    "verify_payment_binding",
    "verify_request",
]
