"""``serve --workers 2`` spreads connections over both workers (one SO_REUSEPORT socket each).

Each worker logs how many connections it accepted when it stops; with one shared socket the
kernel's accept race could hand all of them to one worker (issue 17, the benchmark's 24 of 24).
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from acquirer import Settings
from tests.acquirer.processes import acquirer_process

CONNECTIONS = 24


def worker_spread(log: str) -> list[int]:
    """Connections accepted per worker, from the workers' stop lines in the server log."""
    return [int(n) for n in re.findall(r"worker connections: accepted=(\d+)", log)]


def test_both_workers_accept_connections(settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with acquirer_process(settings.data_dir, args=["--workers", "2"], log=log) as url:
        statuses = []
        for _ in range(CONNECTIONS):
            with httpx.Client(timeout=5) as http:  # a new connection each time
                statuses.append(http.get(f"{url}/v1/health").status_code)
    assert statuses == [200] * CONNECTIONS
    spread = worker_spread(log.read_text())
    print(f"spread of {CONNECTIONS} connections over 2 workers: {spread}")
    assert len(spread) == 2
    assert sum(spread) >= CONNECTIONS
    assert min(spread) > 0
