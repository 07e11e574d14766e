"""DUKPT, derived unique key per transaction: AES (ANSI X9.24-3-2017) and TDES (X9.24-1-2009).

- :mod:`~emvcore.crypto.dukpt.counter`  counter rules, host-side walk, future-key registers
- :mod:`~emvcore.crypto.dukpt.aes`      AES DUKPT: initial key, derivation data, working keys
- :mod:`~emvcore.crypto.dukpt.envelope` the sensitive tags (57, 5A, 5F24) sealed under a KSN
- :mod:`~emvcore.crypto.dukpt.tdes`     TDES DUKPT for older devices: IPEK, variants

The acquirer (holding the BDK) derives a device's initial key once and, per transaction,
the working key from the KSN alone; the terminal holds only its future-key registers.
"""
