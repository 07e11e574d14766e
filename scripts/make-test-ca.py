"""Make the project's test Certification Authority: two RSA keys, their public and private files.

Run once; the outputs are committed as data, as EMVCo and the schemes publish test CA
public keys for test cards. Running it again makes new keys, which invalidates every
emulated card personalized with the old ones.

- ``terminal/data/capk-test.json`` (``tap-capk/1``): the terminal's CA public keys,
  marked ``"test": true`` so production mode refuses them;
- ``card_emulation/data/test-ca.json`` (``tap-test-ca/1``): the matching CA private keys,
  with which ``tap-card`` certifies the issuer keys of emulated cards.

Both keys are 1408-bit RSA with exponent 3, expiring 2035-12-31, at index E1 for the
Visa RID (A000000003) and the Mastercard RID (A000000004); index E1 is not used by the
schemes' published test keys, so the two can sit side by side in one terminal.

    .venv/bin/python scripts/make-test-ca.py [--root DIR]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from emvcore.oda.capk import (
    CaKeyStore,
    load_ca_keys,
    load_test_ca_private_keys,
    public_key_of,
    save_ca_keys,
    save_test_ca_private_keys,
)
from emvcore.oda.rsa import generate_rsa_key

RIDS = (bytes.fromhex("A000000003"), bytes.fromhex("A000000004"))
INDEX = 0xE1
BITS = 1408
EXPONENT = 3
EXPIRY = date(2035, 12, 31)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root"
    )
    args = parser.parse_args(argv)
    public_path = args.root / "terminal" / "data" / "capk-test.json"
    private_path = args.root / "card_emulation" / "data" / "test-ca.json"

    private = {(rid, INDEX): generate_rsa_key(BITS, EXPONENT) for rid in RIDS}
    store = CaKeyStore(
        public_key_of(rid, index, key, expiry=EXPIRY, test=True)
        for (rid, index), key in private.items()
    )
    save_ca_keys(store, public_path)
    save_test_ca_private_keys(private, private_path)

    # Read both back through the loaders the terminal and the cards use.
    loaded = load_ca_keys(public_path)
    keys = load_test_ca_private_keys(private_path)
    for key in loaded.keys:
        n = keys[key.rid, key.index].public_key().public_numbers().n
        if n != int.from_bytes(key.modulus, "big"):
            raise SystemExit(f"test CA key {key.label}: public and private files disagree")
        print(
            f"test CA key {key.label}: {8 * len(key.modulus)} bits, check sum "
            f"{key.checksum().hex().upper()}"
        )
    print(f"wrote {public_path} and {private_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
