"""The authorization answer has one definition: the response model is the contract.

AuthorizationResult.to_json is kept for speed (it is on the fast path); over many generated
results its bytes must validate against AuthorizationResponseBody and equal the model's own
JSON dump, and AuthorizationResult.from_json (what in-process callers get through
AuthorizationOutcome.result) must give the result back.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from acquirer.payments.reasons import Reason
from acquirer.payments.schemas import AuthorizationResponseBody
from acquirer.payments.service import AuthorizationResult

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

results = st.builds(
    AuthorizationResult,
    authorization_id=st.text(_CROCKFORD, min_size=26, max_size=26).map(lambda s: f"auth_{s}"),
    approved=st.booleans(),
    response_code=st.sampled_from(["00", "05", "14", "51", "55", "N7"]),
    reason=st.sampled_from([reason.value for reason in Reason]),
    issuer_authentication_data=st.none() | st.binary(min_size=1, max_size=16),
    token_masked=st.sampled_from(["489537******0000", "555555******4444", ""]),
    par=st.none() | st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=29, max_size=29),
    atc=st.none() | st.integers(0, 0xFFFF),
    cryptogram_verified=st.booleans(),
    created_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000)),
    reference=st.none()
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64),
)


@given(results)
def test_to_json_is_the_response_models_json(result: AuthorizationResult) -> None:
    wire = result.to_json()
    model = AuthorizationResponseBody.model_validate_json(wire)
    assert model.model_dump_json() == wire
    assert model.approved is result.approved
    assert model.par == result.par
    assert model.reference == result.reference
    expected_tag_91 = result.issuer_authentication_data
    assert model.issuer_authentication_data == (
        None if expected_tag_91 is None else expected_tag_91.hex().upper()
    )


@given(results)
def test_from_json_gives_the_result_back(result: AuthorizationResult) -> None:
    assert AuthorizationResult.from_json(result.to_json()) == result
