"""The acquirer's own small certificate authority, for terminals' mutual TLS.

Terminals authenticate to the acquirer with a client certificate in the TLS handshake
(RFC 8446 section 4.4.2, CertificateRequest/Certificate). ``tap-acquirer`` issues those
certificates itself: there is no public trust to borrow for "is this one of my terminals",
so the acquirer is the only authority it accepts.

- The CA: an ECDSA P-256 key and a self-signed certificate with ``basicConstraints CA:TRUE,
  pathlen:0`` and ``keyUsage keyCertSign, cRLSign`` (RFC 5280 sections 4.2.1.9 and 4.2.1.3),
  kept in the data directory as ``ca-key.pem`` (mode 0600) and ``ca-cert.pem``.
- A terminal certificate: subject ``CN=<terminal id>``, ``extendedKeyUsage clientAuth``
  (RFC 5280 section 4.2.1.12), a fresh P-256 key, and a random 159-bit serial number
  (section 4.1.2.2: positive, at most 20 octets). The registry keeps the serial of each
  terminal's current certificate; issuing a new one supersedes the old, and revoking the
  terminal refuses both, so no CRL distribution is needed for the acquirer's own checks.
- The server certificate the acquirer presents: ``extendedKeyUsage serverAuth`` and the
  listening host in ``subjectAltName`` (RFC 6125).

The TLS layer (Python's ``ssl`` with ``CERT_REQUIRED``) verifies the chain; the application
then reads the terminal id and serial from the verified certificate
(:func:`certificate_identity`) and checks them against the registry.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acquirer.clock import utc_now
from acquirer.errors import AuthenticationError, KeyMaterialError
from emvcore.keyfile import write_private_file

CA_DAYS = 3650
TERMINAL_DAYS = 825
SERVER_DAYS = 825


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate and its private key, both PEM; ``serial`` in upper-case hex."""

    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    serial: str


def _serial() -> int:
    return secrets.randbits(159) | 1


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class CertificateAuthority:
    """Issues terminal and server certificates under one CA key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self._key = key
        self.cert = cert

    @classmethod
    def create(
        cls, name: str = "Tap acquirer terminal CA", *, now: datetime | None = None
    ) -> CertificateAuthority:
        """A new CA with a fresh key and a self-signed certificate."""
        now = now or utc_now()
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(_serial())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        return cls(key, cert)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        """The CA in ``cert_path`` / ``key_path``; :class:`KeyMaterialError` if unusable."""
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyMaterialError(
                f"cannot load the terminal CA from {cert_path.parent}: {exc}"
            ) from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeyMaterialError(f"{key_path} does not hold an EC private key")
        return cls(key, cert)

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write the certificate (public) and the key (readable by the owner only)."""
        write_private_file(key_path, _key_pem(self._key))
        cert_path.write_bytes(self.cert_pem)

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def _issue(
        self,
        common_name: str,
        usage: x509.ObjectIdentifier,
        days: int,
        now: datetime | None,
        alt_names: list[x509.GeneralName] | None = None,
    ) -> IssuedCertificate:
        now = now or utc_now()
        key = ec.generate_private_key(ec.SECP256R1())
        serial = _serial()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
        )
        if alt_names:
            builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(
            cert.public_bytes(serialization.Encoding.PEM), _key_pem(key), f"{serial:X}"
        )

    def issue_terminal(self, terminal_id: str, *, now: datetime | None = None) -> IssuedCertificate:
        """A client certificate for ``terminal_id`` (``CN=<terminal id>``, clientAuth)."""
        return self._issue(terminal_id, ExtendedKeyUsageOID.CLIENT_AUTH, TERMINAL_DAYS, now)

    def issue_server(self, host: str, *, now: datetime | None = None) -> IssuedCertificate:
        """The acquirer's server certificate for ``host`` (an IP address or a DNS name)."""
        names: list[x509.GeneralName] = [x509.DNSName("localhost")]
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        return self._issue(host, ExtendedKeyUsageOID.SERVER_AUTH, SERVER_DAYS, now, names)


def certificate_identity(der: bytes) -> tuple[str, str]:
    """The terminal id (subject CN) and serial (upper-case hex) of a verified certificate."""
    try:
        cert = x509.load_der_x509_certificate(der)
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    except ValueError as exc:
        raise AuthenticationError("the client certificate cannot be parsed") from exc
    if len(names) != 1 or not isinstance(names[0].value, str):
        raise AuthenticationError("the client certificate does not name one terminal")
    return names[0].value, f"{cert.serial_number:X}"
