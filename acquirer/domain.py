"""What a domain of the acquirer is to the core: one :class:`Domain` object the core loops over.

A domain (``acquirer/payments/``, ``acquirer/rentals/``, ``acquirer/parcels/``, and next
checkout sessions and mandates) is a folder with its service(s), API router, schemas, store
part beside its rows, migrations, CLI and errors. Its ``__init__`` exposes ``DOMAIN``:

- ``mount(app, core)``: build the domain's stores over the shared engine and its services,
  publish on ``app.state`` what later domains use, and include its routers;
- ``commands``: its ``tap-acquirer`` sub-commands (name, Typer app);
- ``migrations``: its numbered schema steps (:class:`~acquirer.store.migrations.Migration`);
- ``statuses``: its error-to-HTTP-status table (:mod:`acquirer.problems` merges them);
- ``status_sources``: the idempotency scopes it answers status lookups for
  (:class:`~acquirer.status.StatusSource`; the core routes ``GET /v1/status/...``).

The core (:mod:`acquirer.app`, :mod:`acquirer.cli`) knows domains only through the list in
:mod:`acquirer.domains`; a domain may import the core and the domains listed before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import typer
from fastapi import FastAPI

from acquirer.auth import TerminalAuthenticator
from acquirer.idempotency import InFlight
from acquirer.keys import KeyMaterial
from acquirer.problems import StatusTable
from acquirer.settings import Settings
from acquirer.status import StatusSource
from acquirer.store import Engine, Migration


@dataclass(frozen=True, slots=True)
class Core:
    """What the core hands every domain when it wires the app."""

    settings: Settings
    keys: KeyMaterial
    engine: Engine
    """The one database every domain's store is built over (one transaction each)."""
    authenticator: TerminalAuthenticator
    in_flight: InFlight
    clock: Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class Domain:
    """One domain, as the core loops over it (see the module docstring)."""

    name: str
    mount: Callable[[FastAPI, Core], None]
    migrations: tuple[Migration, ...]
    commands: tuple[tuple[str, typer.Typer], ...] = ()
    statuses: StatusTable = field(default_factory=dict)
    status_sources: tuple[StatusSource, ...] = ()
