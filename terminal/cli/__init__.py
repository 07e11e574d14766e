"""The ``tap-terminal`` command line.

- :mod:`terminal.cli.root`     the root application (``pay``, ``doctor``, ``bike``, ``locker``)
- :mod:`terminal.cli.common`   the error console, exit statuses, the acquirer client of the settings
- :mod:`terminal.cli.station`  what the dock and locker commands share
- :mod:`terminal.cli.display`  outcomes, rides and pickups on a console (rich)

Each mode's commands live with the mode (``terminal/modes/*/cli.py``). This module imports
nothing at start-up, so a mode's commands can import the shared helpers above without a cycle.
"""

from __future__ import annotations


def main() -> None:
    """Console script entry point (``tap-terminal``)."""
    from terminal.cli.root import app

    app()
