"""Acquirer settings: where its files live and the few knobs of the authorization rules.

Everything the acquirer keeps sits in one data directory, made by ``tap-acquirer init``::

    DATA_DIR/
      issuer-keys.json   issuer master keys per token BIN range (emvcore.keyfile format)
      vault-key.json     the token vault's master key (acquirer.vault format)
      acquirer.db        SQLite database: tokens, authorizations, ATC claims

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
    ``production``: refuse key files marked as test keys.

    >>> s = Settings(Path("/srv/acq"))
    >>> s.database, s.atc_window
    (PosixPath('/srv/acq/acquirer.db'), 32)
    """

    data_dir: Path
    atc_window: int = 32
    production: bool = False
    bin_controller_id: str = field(default=TEST_BIN_CONTROLLER_ID)

    def __post_init__(self) -> None:
        if not isinstance(self.data_dir, Path):
            object.__setattr__(self, "data_dir", Path(self.data_dir))
        if not 0 <= self.atc_window <= 0xFFFF:
            raise ConfigurationError("atc_window must be between 0 and 65535")
        bci = self.bin_controller_id
        if not (len(bci) == 4 and bci.isascii() and bci.isalnum() and bci.upper() == bci):
            raise ConfigurationError("bin_controller_id must be 4 upper-case letters or digits")

    @property
    def issuer_keys(self) -> Path:
        """Path of the issuer key file."""
        return self.data_dir / "issuer-keys.json"

    @property
    def vault_key(self) -> Path:
        """Path of the vault key file."""
        return self.data_dir / "vault-key.json"

    @property
    def database(self) -> Path:
        """Path of the SQLite database."""
        return self.data_dir / "acquirer.db"
