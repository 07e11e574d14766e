"""Access to the real services `make test` starts (import: `from tests.services import service_env`)."""

from __future__ import annotations

import os

import pytest


def service_env(name: str) -> str:
    """The value of a service's client setting, exported by ``scripts/services.sh``.

    Under ``make test`` (``TAP_SERVICES_REQUIRED=1``) a missing service is a failure; when
    a developer runs pytest directly without the services, the test is skipped with the
    command that provides them.
    """
    value = os.environ.get(name)
    if value:
        return value
    message = f"{name} is not set: run the suite with `make test` (scripts/services.sh starts the service)"
    if os.environ.get("TAP_SERVICES_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)
