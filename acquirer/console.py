"""What every ``tap-acquirer`` sub-command shares: options, consoles, errors, the database.

The root CLI (:mod:`acquirer.cli`) knows the domains; the domains' CLIs (``settlement``,
``risk``, ``bikes``, ``lockers``) know only this module. The root CLI hands the domains'
schema steps over once (:func:`use_migrations`), so any command's :func:`opened_store`
migrates the whole database, whichever domain it belongs to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from acquirer.errors import AcquirerError
from acquirer.settings import DATABASE_URL_ENV, HOME_ENV, Settings, default_data_dir
from acquirer.store import Engine, Migration, open_engine
from emvcore.errors import EmvError

out = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help=f"Data directory (default: ${HOME_ENV}, else ~/.local/share/tap/acquirer)",
        file_okay=False,
        show_default=False,
    ),
]


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn expected failures into one red line on stderr and exit status 1."""
    try:
        yield
    except (AcquirerError, EmvError, OSError) as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        raise typer.Exit(1) from None


DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=DATABASE_URL_ENV,
        help="PostgreSQL database (postgresql://...) instead of the SQLite file in the data "
        "directory; prefer the environment variable, which `ps` does not show",
        show_default=False,
        show_envvar=True,
    ),
]


def cli_settings(data_dir: Path | None, database_url: str | None = None) -> Settings:
    """Settings from the common options; a bad value is reported like any error."""
    with reported_errors():
        return Settings(
            data_dir=data_dir if data_dir is not None else default_data_dir(),
            database_url=database_url,
        )


S = TypeVar("S")

_migrations: list[Migration] = []


def use_migrations(migrations: Sequence[Migration]) -> None:
    """The schema steps of every domain; set once by the root CLI, which knows the domains."""
    _migrations[:] = migrations


@contextmanager
def opened_engine(settings: Settings) -> Iterator[Engine]:
    """The settings' database, migrated with every domain's steps, closed afterwards."""
    engine = open_engine(settings, _migrations)
    try:
        engine.migrate()
        yield engine
    finally:
        engine.close()


@contextmanager
def opened_store(settings: Settings, store: Callable[[Engine], S]) -> Iterator[S]:
    """A store (the core's or a domain's) over :func:`opened_engine`."""
    with opened_engine(settings) as engine:
        yield store(engine)


@contextmanager
def command_store(
    data_dir: Path | None, database_url: str | None, store: Callable[[Engine], S]
) -> Iterator[S]:
    """What most commands open: the store of the common options, its errors reported."""
    settings = cli_settings(data_dir, database_url)
    with reported_errors(), opened_store(settings, store) as opened:
        yield opened
