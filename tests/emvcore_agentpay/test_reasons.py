"""Reason codes: stable, unique, and every JWS failure of every artefact has one."""

from __future__ import annotations

import pickle
import re
from typing import get_args

from emvcore.agentpay.reasons import Artefact, JwsFailure, Reason, jws_reason
from emvcore.errors import AgentPayError, MandateError


def test_codes_are_snake_case_and_unique() -> None:
    values = [r.value for r in Reason]
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)+", v) for v in values)


def test_every_jws_failure_of_every_artefact_has_a_code() -> None:
    for artefact in get_args(Artefact):
        for failure in get_args(JwsFailure):
            assert jws_reason(artefact, failure).value == f"{artefact}_{failure}"


def test_the_codes_the_brief_names() -> None:
    for code in (
        "mandate_signature_invalid",
        "mandate_expired",
        "mandate_not_yet_valid",
        "mandate_malformed",
    ):
        assert Reason(code)


def test_errors_carry_their_reason_across_processes() -> None:
    error = pickle.loads(
        pickle.dumps(MandateError(Reason.MANDATE_EXPIRED, "mandate mdt_x has expired"))
    )
    assert isinstance(error, AgentPayError) and error.reason is Reason.MANDATE_EXPIRED
    assert str(error) == "mandate_expired: mandate mdt_x has expired"
