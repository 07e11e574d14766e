"""Why offline data authentication failed: one value per check of EMV Book 2.

Every :class:`~emvcore.errors.OdaError` carries one of these as ``failure``. The kernel
maps them to TVR bits (Book 3 Annex C5) and to the outcome its rules require:

- ``ISSUER_CERT_MISSING``, ``ICC_CERT_MISSING``, ``SDAD_MISSING``: "ICC data missing"
  (TVR byte 1 bit 6) and the failed bit of the method in use;
- every other value, the CA key ones included: the method's failed bit (TVR byte 1 bit 7
  SDA failed, bit 4 DDA failed, bit 3 CDA failed).

The values are stable strings, fit for logs, test names and the hostile-card reports.

    >>> OdaFailure.ISSUER_CERT_HASH.value
    'issuer_cert_hash'
    >>> OdaFailure("cda_mismatch") is OdaFailure.CDA_MISMATCH
    True
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["OdaFailure"]


class OdaFailure(StrEnum):
    """The offline data authentication check that failed."""

    # CA public key retrieval (Book 2 5.2 / 6.2; key management 11.2)
    CA_KEY_MISSING = "ca_key_missing"
    """No CA public key for this RID and index (8F) in the terminal's store."""
    CA_KEY_REVOKED = "ca_key_revoked"
    """The CA public key is on the terminal's revocation list."""
    CA_KEY_EXPIRED = "ca_key_expired"
    """The CA public key's expiry date has passed."""

    # Issuer public key certificate, tag 90 (Book 2 5.3 Table 6; 6.3)
    ISSUER_CERT_MISSING = "issuer_cert_missing"
    """Tag 90 or the Issuer Public Key Exponent (9F32) is absent."""
    ISSUER_CERT_FORMAT = "issuer_cert_format"
    """Length, recovered header 6A, trailer BC, format 02, algorithm indicators, key lengths."""
    ISSUER_CERT_HASH = "issuer_cert_hash"
    """The hash over the certificate, remainder (92) and exponent (9F32) differs."""
    ISSUER_CERT_EXPIRED = "issuer_cert_expired"
    """The last day of the certificate's expiry month is before today."""
    ISSUER_ID_MISMATCH = "issuer_id_mismatch"
    """The Issuer Identifier is not the leftmost 3-8 digits of the PAN."""

    # ICC public key certificate, tag 9F46 (Book 2 6.4 Table 14)
    ICC_CERT_MISSING = "icc_cert_missing"
    """Tag 9F46 or the ICC Public Key Exponent (9F47) is absent."""
    ICC_CERT_FORMAT = "icc_cert_format"
    """Length, recovered header 6A, trailer BC, format 04, algorithm indicators, key lengths."""
    ICC_CERT_HASH = "icc_cert_hash"
    """The hash over the certificate, remainder (9F48), exponent and static data differs."""
    ICC_CERT_EXPIRED = "icc_cert_expired"
    """The last day of the certificate's expiry month is before today."""
    PAN_MISMATCH = "pan_mismatch"
    """The PAN in the certificate is not the Application PAN (5A)."""

    # Static data to be authenticated (Book 2 5.4 / 6.4 step 5; Book 3 10.3)
    STATIC_DATA_INVALID = "static_data_invalid"
    """An ODA record that is not a tag 70 template, or a bad SDA Tag List (9F4A)."""

    # Signed Dynamic Application Data, tag 9F4B (Book 2 6.5.2 Table 17, 6.6.2 Table 22)
    SDAD_MISSING = "sdad_missing"
    """Tag 9F4B is absent."""
    SDAD_FORMAT = "sdad_format"
    """Length, recovered header 6A, trailer BC, format 05, hash indicator, data lengths."""
    SDAD_HASH = "sdad_hash"
    """The hash over the signed data and terminal data differs (for CDA, or the TDHC)."""
    CDA_MISMATCH = "cda_mismatch"
    """The CID in the CDA signature differs from the CID the card returned (6.6.2 step 5)."""
