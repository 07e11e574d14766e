"""The wallet's :class:`~card_emulation.wallet.checkout.CheckoutClient` over HTTP (httpx).

It speaks the acquirer's checkout routes for wallets:

- ``GET /v1/checkout/link?uri=<link>``: the session the link names (after the acquirer
  checked the link's MAC), as :class:`~card_emulation.wallet.checkout.CheckoutSession`;
- ``POST /v1/checkout/payments`` with ``Idempotency-Key``: the payment, as
  :class:`~card_emulation.wallet.checkout.PaymentResult` (approved, or the stable reason).

The transport is injectable as in httpx itself: pass ``client`` (an ``httpx.Client``, e.g.
Starlette's ``TestClient`` around the real app in-process) or ``transport``; without them it
opens its own connection pool to ``api_url``. httpx's errors and the acquirer's problem
details (RFC 9457) become :class:`~card_emulation.errors.CheckoutError` with the problem's
``code``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from card_emulation.errors import CheckoutError
from card_emulation.wallet.checkout import (
    CheckoutSession,
    PaymentResult,
    SessionPayment,
    SessionState,
)


class HttpCheckoutClient:
    """The acquirer's checkout sessions over HTTP, as a wallet reaches them."""

    def __init__(
        self,
        api_url: str = "",
        *,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._own = client is None
        self._client = client or httpx.Client(
            base_url=api_url, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        """Close the connection pool this client opened (not one it was given)."""
        if self._own:
            self._client.close()

    def __enter__(self) -> HttpCheckoutClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **options: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **options)
        except httpx.HTTPError as exc:
            raise CheckoutError(
                f"the acquirer cannot be reached: {exc.__class__.__name__}", code="unreachable"
            ) from None
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            raise CheckoutError(
                f"the acquirer answered {response.status_code} without JSON", code="bad_answer"
            ) from None
        if response.status_code != httpx.codes.OK:
            code = str(body.get("code", "http_error"))
            raise CheckoutError(
                f"the acquirer refused: {body.get('detail', response.status_code)}", code=code
            )
        return body

    def fetch_session(self, link: str) -> CheckoutSession:
        """The session ``link`` names, as the acquirer describes it (the tag says no amount)."""
        body = self._call("GET", "/v1/checkout/link", params={"uri": link})
        try:
            return CheckoutSession(
                session_id=body["session_id"],
                terminal_id=body["terminal_id"],
                merchant_name=body["merchant_name"],
                amount=int(body["amount"]),
                currency=body["currency"],
                state=SessionState(body["state"]),
                expires_at=datetime.fromisoformat(body["expires_at"]),
                nonce=bytes.fromhex(body["nonce"]),
            )
        except (KeyError, ValueError, TypeError):
            raise CheckoutError("the acquirer's session is malformed", code="bad_answer") from None

    def pay_session(self, payment: SessionPayment) -> PaymentResult:
        """Pay; approved, or refused with the acquirer's stable reason."""
        body = self._call(
            "POST",
            "/v1/checkout/payments",
            json={
                "link": payment.link,
                "session_id": payment.session_id,
                "emv_data": payment.emv_data.hex().upper(),
            },
            headers={"Idempotency-Key": payment.idempotency_key},
        )
        return PaymentResult(
            approved=bool(body.get("approved")),
            reason=str(body.get("reason", "")),
            authorization_id=body.get("authorization_id"),
        )
