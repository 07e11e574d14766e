"""Acquirer settings: where its files live and the few knobs of the authorization rules.

Everything the acquirer keeps sits in one data directory, made by ``tap-acquirer init``::

    DATA_DIR/
      issuer-keys.json   issuer master keys per token BIN range (emvcore.keyfile format)
      vault-key.json     the token vault's master key (acquirer.vault format)
      keyring.json       named keys: TR-31 key-encryption keys, the DUKPT BDK (acquirer.keystore)
      ca-cert.pem        the terminal CA (ca-key.pem: its key), made by ``terminals add``
      server-cert.pem    the TLS server certificate (server-key.pem), made by ``serve --tls``
      acquirer.db        SQLite database: tokens, authorizations, ATC claims
                         (unless ``database_url`` names a PostgreSQL database instead)

The default directory is ``$TAP_ACQUIRER_HOME`` or ``~/.local/share/tap/acquirer``
(the XDG data directory convention).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from acquirer.errors import ConfigurationError

#: Environment variable naming the data directory.
HOME_ENV = "TAP_ACQUIRER_HOME"
#: Environment variable naming a PostgreSQL database (libpq URI) to use instead of SQLite.
DATABASE_URL_ENV = "TAP_ACQUIRER_DATABASE_URL"
#: Environment variable that, set to 1, runs the acquirer in production mode.
PRODUCTION_ENV = "TAP_ACQUIRER_PRODUCTION"
#: Environment variable that, set to 1, makes the app require terminals' client certificates.
REQUIRE_CLIENT_CERTIFICATES_ENV = "TAP_ACQUIRER_REQUIRE_CLIENT_CERTIFICATES"

#: BIN controller identifier put in front of test PARs (EMVCo PAR specification: 4 characters
#: assigned by EMVCo; "T001" is not an assigned value and marks the PAR as a test one).
TEST_BIN_CONTROLLER_ID = "T001"


def default_data_dir() -> Path:
    """``$TAP_ACQUIRER_HOME`` if set, else ``~/.local/share/tap/acquirer``."""
    configured = os.environ.get(HOME_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".local" / "share" / "tap" / "acquirer"


@dataclass(frozen=True, slots=True)
class Settings:
    """Immutable acquirer settings.

    ``atc_window``: an ATC more than this far below the highest ATC already accepted for a
    token is declined as stale (the card's counter only grows, EMV Book 2 section 8.1;
    a small window tolerates authorizations that arrive out of order).
    ``production``: refuse key files marked as test keys, key files in clear, and the
    clear sensitive-data format (``TAP_ACQUIRER_PRODUCTION=1``; a data directory made by
    ``init --production`` is production whatever this says).
    ``require_client_certificates``: every request must come over mutual TLS from a
    registered, active terminal (``tap-acquirer serve --tls`` sets it).
    ``velocity_limit`` approvals per PAR within ``velocity_window_seconds`` (0: no limit).
    ``fee_bps``: the merchant service charge, in basis points of each captured amount.
    ``tvr_exempt_bins``: token BIN prefixes whose issuer profile accepts a failed offline
    data authentication or an expired application in the TVR (tag 95); every other issuer
    declines them (``oda_failed``, ``card_expired``).
    ``database_url``: a PostgreSQL URI (``postgresql://...``) to keep the tokens and the
    payments in, for several acquirer processes on one database; ``None`` keeps them in
    the SQLite file ``data_dir/acquirer.db``.
    ``tap_base_url``: the base of the Tap! tag links (:mod:`emvcore.tapmode.link`), the
    wallets' trust anchor; ``checkout_session_seconds``: how long a checkout session is payable.

    >>> s = Settings(Path("/srv/acq"))
    >>> s.database, s.atc_window
    (PosixPath('/srv/acq/acquirer.db'), 32)
    """

    data_dir: Path
    atc_window: int = 32
    production: bool = False
    bin_controller_id: str = field(default=TEST_BIN_CONTROLLER_ID)
    database_url: str | None = field(default=None, repr=False)
    fee_bps: int = 150
    velocity_limit: int = 60
    velocity_window_seconds: int = 600
    require_client_certificates: bool = False
    tap_base_url: str = "https://tap.localhost/tap"
    checkout_session_seconds: int = 180
    tvr_exempt_bins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not 0 <= self.atc_window <= 0xFFFF:
            raise ConfigurationError("atc_window must be between 0 and 65535")
        bci = self.bin_controller_id
        if not (len(bci) == 4 and bci.isascii() and bci.isalnum() and bci.upper() == bci):
            raise ConfigurationError("bin_controller_id must be 4 upper-case letters or digits")
        if self.velocity_limit < 0 or self.velocity_window_seconds <= 0:
            raise ConfigurationError("velocity_limit must be >= 0 and its window > 0 seconds")
        if not 0 <= self.fee_bps <= 10_000:
            raise ConfigurationError("fee_bps must be between 0 and 10000")
        if not 30 <= self.checkout_session_seconds <= 3600:
            raise ConfigurationError("checkout_session_seconds must be between 30 and 3600")
        if not all(b.isdigit() and 1 <= len(b) <= 11 for b in self.tvr_exempt_bins):
            raise ConfigurationError("tvr_exempt_bins must be BIN prefixes of 1-11 digits")
        url = self.database_url
        if url is not None and not url.startswith(("postgresql://", "postgres://")):
            raise ConfigurationError("database_url must be a postgresql:// URI")

    @property
    def issuer_keys(self) -> Path:
        """Path of the issuer key file."""
        return self.data_dir / "issuer-keys.json"

    @property
    def vault_key(self) -> Path:
        """Path of the vault key file."""
        return self.data_dir / "vault-key.json"

    @property
    def keyring(self) -> Path:
        """Path of the keyring (key-encryption keys, the DUKPT base derivation key)."""
        return self.data_dir / "keyring.json"

    @property
    def ca_cert(self) -> Path:
        """The terminal CA's certificate (PEM)."""
        return self.data_dir / "ca-cert.pem"

    @property
    def ca_key(self) -> Path:
        """The terminal CA's private key (PEM, owner-only)."""
        return self.data_dir / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        """The acquirer's TLS server certificate (PEM)."""
        return self.data_dir / "server-cert.pem"

    @property
    def server_key(self) -> Path:
        """The acquirer's TLS server key (PEM, owner-only)."""
        return self.data_dir / "server-key.pem"

    @property
    def database(self) -> Path:
        """Path of the SQLite database."""
        return self.data_dir / "acquirer.db"


def settings_from_environment() -> Settings:
    """Settings from the environment variables above (for worker processes)."""
    return Settings(
        data_dir=default_data_dir(),
        database_url=os.environ.get(DATABASE_URL_ENV) or None,
        require_client_certificates=os.environ.get(REQUIRE_CLIENT_CERTIFICATES_ENV) == "1",
        production=os.environ.get(PRODUCTION_ENV) == "1",
    )


#: The log line format of ``tap-acquirer serve`` and of each of its worker processes.
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
