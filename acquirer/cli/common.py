"""What the ``tap-acquirer`` sub-command modules share: options, consoles, error reporting."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from acquirer.errors import AcquirerError
from acquirer.settings import DATABASE_URL_ENV, HOME_ENV, Settings, default_data_dir
from acquirer.store import Store, open_store
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


@contextmanager
def opened_store(settings: Settings) -> Iterator[Store]:
    """The settings' store, migrated, closed afterwards."""
    store = open_store(settings)
    try:
        store.migrate()
        yield store
    finally:
        store.close()
