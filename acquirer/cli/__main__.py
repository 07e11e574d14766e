"""``python -m acquirer.cli``: the ``tap-acquirer`` command."""

from acquirer.cli import main

main()
