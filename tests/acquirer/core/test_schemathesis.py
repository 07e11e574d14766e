"""schemathesis against the acquirer's own OpenAPI document, in process (ASGI), fixed seed.

Every operation gets :data:`EXAMPLES` generated requests (at least 1,000 in all, issue 17):
no 5xx, and every answer matches its documented schema. ``positive_data_acceptance`` is not
run: it expects no 422 for schema-valid data, and a schema cannot say that ``emv_data`` is
well-formed BER-TLV with a verifiable cryptogram, so 422 ``emv_data_invalid`` (documented) is
the right answer to most generated taps.
"""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
)

from acquirer.app import create_app
from acquirer.settings import Settings

#: Requests per operation; times the operations, over 1,000.
EXAMPLES = 40


def test_the_acquirer_keeps_its_openapi_contract(settings: Settings) -> None:
    app = create_app(settings)
    sent = 0
    with TestClient(app):  # runs the lifespan
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        operations = [result.ok() for result in schema.get_all_operations()]
        for operation in operations:

            @given(case=operation.as_strategy())
            @hypothesis_settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: schemathesis.Case) -> None:
                nonlocal sent
                sent += 1
                case.call_and_validate(
                    checks=[
                        not_a_server_error,
                        response_schema_conformance,
                    ]
                )

            run()
    assert len(operations) > 15
    assert sent >= 1000, sent
