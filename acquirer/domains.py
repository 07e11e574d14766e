"""The acquirer's domains, in the order the core wires them: payments, rentals, parcels, checkout.

The one list the core loops over (:mod:`acquirer.app` mounts each domain's routes and merges
its error statuses, :mod:`acquirer.cli` adds its commands, the engine runs its schema
steps). A new domain (a folder ``acquirer/<name>/`` whose ``__init__`` exposes ``DOMAIN``,
see :mod:`acquirer.domain`) is added here, after the domains it builds on.
"""

from __future__ import annotations

from acquirer.checkout import DOMAIN as CHECKOUT
from acquirer.domain import Domain
from acquirer.parcels import DOMAIN as PARCELS
from acquirer.payments import DOMAIN as PAYMENTS
from acquirer.rentals import DOMAIN as RENTALS
from acquirer.settings import Settings
from acquirer.store import Engine, Migration, open_engine

#: Every domain, each after those it builds on.
DOMAINS: tuple[Domain, ...] = (PAYMENTS, RENTALS, PARCELS, CHECKOUT)

#: Every domain's schema steps (numbered 1-7; the runner checks the order).
MIGRATIONS: tuple[Migration, ...] = tuple(m for domain in DOMAINS for m in domain.migrations)


def open_database(settings: Settings) -> Engine:
    """The settings' database engine with every domain's schema steps (not yet migrated)."""
    return open_engine(settings, MIGRATIONS)
