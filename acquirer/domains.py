"""The acquirer's domains, in the order the core wires them: payments, rentals, parcels.

The one list the core loops over (:mod:`acquirer.app`, :mod:`acquirer.cli`). A new domain
(a folder ``acquirer/<name>/`` exposing ``DOMAIN``) is added here, after the domains it
imports.
"""

from __future__ import annotations

from acquirer.parcels.migrations import MIGRATIONS as PARCEL_MIGRATIONS
from acquirer.payments.migrations import MIGRATIONS as PAYMENT_MIGRATIONS
from acquirer.rentals.migrations import MIGRATIONS as RENTAL_MIGRATIONS
from acquirer.settings import Settings
from acquirer.store import Engine, Migration, open_engine

#: Every domain's schema steps (numbered 1-6; the runner checks the order).
MIGRATIONS: tuple[Migration, ...] = PAYMENT_MIGRATIONS + RENTAL_MIGRATIONS + PARCEL_MIGRATIONS


def open_database(settings: Settings) -> Engine:
    """The settings' database engine with every domain's schema steps (not yet migrated)."""
    return open_engine(settings, MIGRATIONS)
