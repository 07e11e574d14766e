"""The acquirer's keys at rest: a key-encryption key, sealed key files, the keyring, imports.

- :mod:`~acquirer.keystore.sealed`    the key-encryption key (KEK) from a file or the
  environment, and key files encrypted under it (AES-256-GCM)
- :mod:`~acquirer.keystore.keyring`   named keys that are neither issuer keys nor the vault
  key: key-encryption keys for TR-31 imports, the DUKPT base derivation key
- :mod:`~acquirer.keystore.imports`   real keys entering: components or a TR-31 key block,
  each verified by its key check value, stored under a name
"""

from acquirer.keystore.keyring import Keyring, NamedKey
from acquirer.keystore.sealed import Kek, load_kek, read_key_file, write_key_file

__all__ = ["Kek", "Keyring", "NamedKey", "load_kek", "read_key_file", "write_key_file"]
