"""The exception tree of :mod:`acquirer`.

Everything the acquirer raises on bad input, bad configuration or a failing database is one
of these; library errors (``sqlite3``, ``json``, emvcore's :class:`~emvcore.errors.EmvError`)
are mapped into the tree where they cross into this package. The whole tree is drawn here,
the core's errors and every domain's (payments, rentals, parcels) alike::

    AcquirerError
    ├── ConfigurationError                  configuration_invalid      settings or data directory unusable
    │    ├── KeyMaterialError               key_material_invalid       a key file missing, malformed, bad KCV
    │    │    └── KeyEncryptionKeyError     kek_invalid                the key file's KEK missing, too open, wrong
    │    ├── TestKeysRefusedError           test_keys_refused          test keys loaded in production mode
    │    ├── ProductionRefusedError         production_refused         plain HTTP, a self-issued certificate, clear keys
    │    └── AlreadyInitializedError        already_initialized        init would overwrite existing keys
    ├── ProvisioningError                   provisioning_failed        scheme, expiry or token space unusable
    │    └── FundingPanError                funding_pan_invalid        not 12-19 digits, or bad Luhn digit
    ├── TokenNotFoundError                  token_unknown              no such token in the vault
    ├── RegistryError                       registry_invalid           a merchant or terminal record is unusable
    │    └── TerminalNotFoundError          terminal_unknown           no such terminal in the registry
    ├── AuthenticationError                 terminal_unauthenticated   no usable client certificate
    │    └── TerminalForbiddenError         terminal_forbidden         unknown, revoked or mismatched terminal
    ├── StoreError                          store_failed               the database failed (sqlite3, psycopg mapped)
    │    ├── SchemaVersionError             schema_version             database newer than this software
    │    ├── MigrationOrderError            migration_order            domain schema steps with a gap or a duplicate
    │    └── LedgerImbalanceError           ledger_imbalance           a journal whose postings do not sum to 0
    └── RequestError                        request_invalid            a request is unusable
         ├── EmvDataError                   emv_data_invalid           the EMV data record is malformed
         │    ├── EmvDataIncompleteError    emv_data_incomplete        a mandatory tag is missing
         │    └── SensitiveDataError        sensitive_data_invalid     DUKPT-encrypted data unusable, or sent in clear
         │         └── KsnReplayedError     ksn_replayed               a KSN already used by another request
         ├── IdempotencyKeyReusedError      idempotency_key_reused     one key, two requests
         ├── IdempotencyKeyInFlightError    idempotency_key_in_flight  the first is still running
         ├── PaymentNotFoundError           payment_unknown            no such payment for this terminal
         ├── PaymentStateError              payment_state_conflict     not allowed in the payment's state
         │    ├── AmountExceededError       amount_exceeded            more than the payment allows
         │    └── IncrementDeclinedError    increment_declined         an increment breaks a risk rule
         ├── BatchNotFoundError             batch_unknown              no such settlement batch
         ├── SettlementScopeNotFoundError   settlement_scope_unknown   settle an unregistered terminal/merchant
         ├── RentalNotFoundError            rental_unknown             no such rental (or none active)
         ├── RentalStateError               rental_state_conflict      not allowed in the rental's state
         ├── TariffMissingError             tariff_missing             the operator has no bike tariff
         ├── DepositMismatchError           deposit_mismatch           amount/currency not the tariff's deposit
         ├── DebtNotFoundError              debt_unknown               no such debt
         ├── DebtStateError                 debt_state_conflict        the debt is not open, or amount differs
         ├── ParcelNotFoundError            parcel_unknown             no such parcel visible to the terminal
         ├── LockerNotFoundError            locker_unknown             no registered terminal with action locker
         ├── ParcelCurrencyError            parcel_currency_mismatch   currency other than the locker's fees
         ├── ParcelConflictError            parcel_conflict            not possible in the locker's state now
         │    ├── NoCompartmentFreeError    no_compartment_free        no free compartment large enough
         │    ├── ParcelStateError          parcel_state_conflict      not allowed in the parcel's state
         │    ├── AmountDueMismatchError    amount_due_mismatch        a payment of other than what is due
         │    └── ParcelNotIdentifiedError  parcel_not_identified      pay without a recipient's pickup
         ├── CheckoutSessionNotFoundError  checkout_session_unknown  no such session for this terminal
         └── CheckoutLinkRefusedError  checkout_link_refused      a tag link malformed, forged or foreign

Each class carries a stable machine-readable ``code`` (the ``code`` member of a problem
details body, RFC 9457 section 3.2); the HTTP layer maps codes to statuses, the rest of the
package knows nothing of HTTP. Messages name what was wrong and where, and never contain a
funding PAN, a token in clear, a key or a cryptogram.
"""

from __future__ import annotations


class AcquirerError(Exception):
    """Base class of every error raised by :mod:`acquirer`."""

    code = "acquirer_error"


class ConfigurationError(AcquirerError):
    """Settings, the data directory or the files in it cannot be used."""

    code = "configuration_invalid"


class KeyMaterialError(ConfigurationError):
    """A key file (issuer keys, vault key) is missing, malformed or fails its check value."""

    code = "key_material_invalid"


class KeyEncryptionKeyError(KeyMaterialError):
    """The key-encryption key of the key files is missing, readable by others, or not theirs."""

    code = "kek_invalid"


class ProductionRefusedError(ConfigurationError):
    """Production mode refuses a development shortcut: plain HTTP, a self-issued server
    certificate, or a key file kept in clear."""

    code = "production_refused"


class TestKeysRefusedError(ConfigurationError):
    """A key file marked as holding test keys was loaded with ``production=True``."""

    __test__ = False  # not a pytest test class, despite the name
    code = "test_keys_refused"


class AlreadyInitializedError(ConfigurationError):
    """``init`` found existing key files and was not told to replace them."""

    code = "already_initialized"


class ProvisioningError(AcquirerError):
    """A token cannot be provisioned: unknown scheme, bad expiry, no free token number."""

    code = "provisioning_failed"


class FundingPanError(ProvisioningError):
    """The funding PAN is not 12-19 digits with a valid Luhn check digit.

    The message says which rule failed and never repeats the PAN.
    """

    code = "funding_pan_invalid"


class TokenNotFoundError(AcquirerError):
    """No token with that number is in the vault."""

    code = "token_unknown"


class StoreError(AcquirerError):
    """The database failed; the ``sqlite3`` (later ``psycopg``) error is the ``__cause__``."""

    code = "store_failed"


class SchemaVersionError(StoreError):
    """The database schema is newer than this software knows how to use."""

    code = "schema_version"


class MigrationOrderError(StoreError):
    """The domains' schema steps are not numbered 1, 2, 3, ... without a gap or a duplicate."""

    code = "migration_order"


class RequestError(AcquirerError):
    """An authorization request that cannot be processed as sent (the client's fault)."""

    code = "request_invalid"


class EmvDataError(RequestError):
    """The EMV data record of an authorization request cannot be used.

    ``tag`` and ``offset`` locate the problem when known (from emvcore's
    :class:`~emvcore.errors.TlvError`, or the tag whose value is malformed).
    """

    code = "emv_data_invalid"

    def __init__(self, message: str, *, tag: int | None = None, offset: int | None = None):
        super().__init__(message)
        self.tag = tag
        self.offset = offset


class EmvDataIncompleteError(EmvDataError):
    """A tag the issuer needs (PAN, ATC, cryptogram, CID, IAD, amount, currency) is missing."""

    code = "emv_data_incomplete"


class SensitiveDataError(EmvDataError):
    """The DUKPT-encrypted sensitive data (tags 57, 5A, 5F24) cannot be used: an unknown
    initial key ID, a KSN of another terminal, a failed decryption, or (in production) sent
    in clear."""

    code = "sensitive_data_invalid"


class KsnReplayedError(SensitiveDataError):
    """The KSN was already used by another request: a DUKPT key serves one transaction."""

    code = "ksn_replayed"


class IdempotencyKeyReusedError(RequestError):
    """An idempotency key was sent again with a different request.

    draft-ietf-httpapi-idempotency-key-header section 2.6: the key identifies one request;
    reusing it for another request payload is a client error, never a second authorization.
    """

    code = "idempotency_key_reused"


class LedgerImbalanceError(StoreError):
    """A journal's postings do not sum to zero; nothing of its transaction is written."""

    code = "ledger_imbalance"


class IdempotencyKeyInFlightError(RequestError):
    """A request with this idempotency key is still being processed.

    draft-ietf-httpapi-idempotency-key-header section 2.6: a retry that arrives while the
    first request is in flight is answered ``409 Conflict``; the client retries later and
    then receives the first result.
    """

    code = "idempotency_key_in_flight"


class PaymentNotFoundError(RequestError):
    """No payment with that id belongs to the requesting terminal."""

    code = "payment_unknown"


class PaymentStateError(RequestError):
    """The operation is not allowed in the payment's current state (e.g. capture a void)."""

    code = "payment_state_conflict"


class AmountExceededError(PaymentStateError):
    """The amount is more than the payment allows (refund above captured, and so on)."""

    code = "amount_exceeded"


class IncrementDeclinedError(PaymentStateError):
    """An incremental authorization breaks a rule the authorization obeys (token, PAR, MCC)."""

    code = "increment_declined"


class RegistryError(AcquirerError):
    """A merchant or terminal cannot be registered (bad MCC, unknown merchant, id taken)."""

    code = "registry_invalid"


class TerminalNotFoundError(RegistryError):
    """No terminal with that id is registered."""

    code = "terminal_unknown"


class AuthenticationError(AcquirerError):
    """The request carries no client certificate the acquirer can use (mutual TLS)."""

    code = "terminal_unauthenticated"


class TerminalForbiddenError(AuthenticationError):
    """The certificate names a terminal that is unknown, revoked, superseded, or not the one
    the request speaks for."""

    code = "terminal_forbidden"


class BatchNotFoundError(RequestError):
    """No settlement batch with that id is visible to the requester."""

    code = "batch_unknown"


class SettlementScopeNotFoundError(RequestError):
    """A batch was asked for a terminal or merchant the registry does not know."""

    code = "settlement_scope_unknown"


class RentalNotFoundError(RequestError):
    """No rental with that id is visible to the terminal, or no active rental matches."""

    code = "rental_unknown"


class RentalStateError(RequestError):
    """The request is not allowed in the rental's state (start an ended rental, ...)."""

    code = "rental_state_conflict"


class TariffMissingError(RequestError):
    """The terminal's operator (merchant) has no bike tariff, or the terminal no merchant."""

    code = "tariff_missing"


class DepositMismatchError(RequestError):
    """A rental's hold must be the tariff's deposit, in the tariff's currency."""

    code = "deposit_mismatch"


class DebtNotFoundError(RequestError):
    """No debt with that id belongs to the terminal's operator."""

    code = "debt_unknown"


class DebtStateError(RequestError):
    """The debt is already paid, or the payment's amount or currency is not the debt's."""

    code = "debt_state_conflict"


class ParcelNotFoundError(RequestError):
    """No parcel with that id is visible to the requesting terminal."""

    code = "parcel_unknown"


class LockerNotFoundError(RequestError):
    """The locker is not a registered, active terminal with the action ``locker``."""

    code = "locker_unknown"


class ParcelCurrencyError(RequestError):
    """A parcel in another currency than the storage fees of the locker's operator."""

    code = "parcel_currency_mismatch"


class ParcelConflictError(RequestError):
    """The request is well formed but the locker's state does not allow it now."""

    code = "parcel_conflict"


class NoCompartmentFreeError(ParcelConflictError):
    """No free compartment of the size asked for, or larger, at the locker."""

    code = "no_compartment_free"


class ParcelStateError(ParcelConflictError):
    """The operation is not allowed in the parcel's state (e.g. a door event after collection)."""

    code = "parcel_state_conflict"


class AmountDueMismatchError(ParcelConflictError):
    """A parcel payment whose amount or currency is not exactly what is due now."""

    code = "amount_due_mismatch"


class ParcelNotIdentifiedError(ParcelConflictError):
    """A parcel payment that no recent pickup (by the recipient's card or code) asked for."""

    code = "parcel_not_identified"


class CheckoutSessionNotFoundError(RequestError):
    """No checkout session with that id is visible to the requesting terminal or link."""

    code = "checkout_session_unknown"


class CheckoutLinkRefusedError(RequestError):
    """A Tap! tag link that is malformed, whose MAC does not verify, or names another session.

    ``reason`` is the stable reason code (``link_malformed``, ``link_forged``); the message
    never repeats the link's MAC.
    """

    code = "checkout_link_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
