"""Stable reason codes for refused agent payments.

Every :class:`~emvcore.errors.AgentPayError` carries one of these. The values are part of
the acquirer's API (an agent, an MCP host or a kiosk matches on them), so a value is never
renamed; a new check gets a new value. The JWS artefacts (mandate, payment binding,
confirmation) share five failure kinds, spelled ``<artefact>_<kind>``; :func:`jws_reason`
names them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

#: The artefacts read as compact JWS (RFC 7515) and the failures any of them can have.
Artefact = Literal["mandate", "binding", "confirmation"]
JwsFailure = Literal[
    "malformed", "signature_invalid", "algorithm_refused", "type_invalid", "critical_header"
]


class Reason(StrEnum):
    """Why an agent payment artefact was refused."""

    # The mandate (the wallet's signed authority).
    MANDATE_MALFORMED = "mandate_malformed"
    MANDATE_SIGNATURE_INVALID = "mandate_signature_invalid"
    MANDATE_ALGORITHM_REFUSED = "mandate_algorithm_refused"
    MANDATE_TYPE_INVALID = "mandate_type_invalid"
    MANDATE_CRITICAL_HEADER = "mandate_critical_header"
    MANDATE_VERSION_UNSUPPORTED = "mandate_version_unsupported"
    MANDATE_EXPIRED = "mandate_expired"
    MANDATE_NOT_YET_VALID = "mandate_not_yet_valid"
    # A checkout outside the mandate's scope.
    AMOUNT_OVER_MANDATE = "amount_over_mandate"
    CURRENCY_MISMATCH = "currency_mismatch"
    MERCHANT_NOT_ALLOWED = "merchant_not_allowed"
    CATEGORY_NOT_ALLOWED = "merchant_category_not_allowed"
    # The checkout itself.
    CHECKOUT_MALFORMED = "checkout_malformed"
    CHECKOUT_EXPIRED = "checkout_expired"
    # The agent's signature over the checkout (closed payment binding).
    BINDING_REQUIRED = "binding_required"
    BINDING_MALFORMED = "binding_malformed"
    BINDING_SIGNATURE_INVALID = "binding_signature_invalid"
    BINDING_ALGORITHM_REFUSED = "binding_algorithm_refused"
    BINDING_TYPE_INVALID = "binding_type_invalid"
    BINDING_CRITICAL_HEADER = "binding_critical_header"
    BINDING_STALE = "binding_stale"
    BINDING_REPLAYED = "binding_replayed"
    BINDING_MANDATE_MISMATCH = "binding_mandate_mismatch"
    AGENT_KEY_NOT_NAMED = "agent_key_not_named"
    CHECKOUT_ALTERED = "checkout_altered"
    # The person's confirmation of the final cart (human present).
    CONFIRMATION_REQUIRED = "confirmation_required"
    CONFIRMATION_MALFORMED = "confirmation_malformed"
    CONFIRMATION_SIGNATURE_INVALID = "confirmation_signature_invalid"
    CONFIRMATION_ALGORITHM_REFUSED = "confirmation_algorithm_refused"
    CONFIRMATION_TYPE_INVALID = "confirmation_type_invalid"
    CONFIRMATION_CRITICAL_HEADER = "confirmation_critical_header"
    CONFIRMATION_MISMATCH = "confirmation_mismatch"
    CONFIRMATION_STALE = "confirmation_stale"
    CONFIRMATION_DECLINED = "confirmation_declined"
    # The agent's HTTP message signature (RFC 9421).
    REQUEST_SIGNATURE_MISSING = "request_signature_missing"
    REQUEST_SIGNATURE_INVALID = "request_signature_invalid"
    REQUEST_KEY_UNKNOWN = "request_key_unknown"
    REQUEST_COMPONENTS_MISSING = "request_components_missing"
    REQUEST_DIGEST_MISMATCH = "request_digest_mismatch"
    REQUEST_STALE = "request_stale"
    REQUEST_REPLAYED = "request_replayed"


def jws_reason(artefact: Artefact, failure: JwsFailure) -> Reason:
    """The reason code of a JWS failure of one artefact.

    >>> jws_reason("mandate", "signature_invalid")
    <Reason.MANDATE_SIGNATURE_INVALID: 'mandate_signature_invalid'>
    """
    return Reason(f"{artefact}_{failure}")
