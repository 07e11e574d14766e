"""The terminal's acquirer client and its per-domain helpers.

- :mod:`terminal.online.client`   :class:`AcquirerClient`: authorizations and reversals over
  httpx (injectable transport, mutual TLS, idempotency keys, httpx errors mapped into
  :mod:`terminal.errors`)
- :mod:`terminal.online.bikes`    the bike dock's rentals, returns, deny list and tariff
- :mod:`terminal.online.parcels`  the parcel locker's pickups and door events

Every helper sends through the one client, so every request gets the same idempotency,
retry and error mapping.
"""

from terminal.online.client import AcquirerClient, AuthorizationResponse, tls_context

__all__ = ["AcquirerClient", "AuthorizationResponse", "tls_context"]
