"""Serving the acquirer: connection limits and timeouts, and worker processes that share load.

See :mod:`acquirer.serving.limits` for the limits and why they are what they are,
:mod:`acquirer.serving.protocol` for how each connection is held to them and
:mod:`acquirer.serving.server` for the server and its ``SO_REUSEPORT`` workers.
"""

from acquirer.serving.limits import ServerLimits, raise_open_files
from acquirer.serving.protocol import GuardedProtocol
from acquirer.serving.server import (
    HardenedConfig,
    HardenedServer,
    ReusePortWorkers,
    bind_reuseport,
)

__all__ = [
    "GuardedProtocol",
    "HardenedConfig",
    "HardenedServer",
    "ReusePortWorkers",
    "ServerLimits",
    "bind_reuseport",
    "raise_open_files",
]
