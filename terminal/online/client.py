"""The terminal's acquirer client: one authorization request, mapped errors, injectable transport.

Speaks the acquirer's ``POST /v1/authorizations`` (see ``acquirer.app``) with httpx. The
transport is injectable (``httpx.MockTransport``, ``httpx.ASGITransport`` or the default
network transport), so tests run the real acquirer app in-process or over real HTTP.

Every request carries an ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header);
a connection failure before the request was sent is retried once with the same key, so the
acquirer never authorizes one tap twice. When an answer does not come back, the request may
still have been acted on: :meth:`AcquirerClient.reverse` undoes whatever the acquirer did
under the original key (``POST /v1/reversals``). httpx errors are mapped into
:mod:`terminal.errors` here, at the boundary.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError, SettingsError
from terminal.online.dukpt import DukptDevice


@dataclass(frozen=True, slots=True)
class AuthorizationResponse:
    """The acquirer's decision on one authorization request."""

    authorization_id: str
    approved: bool
    response_code: str
    reason: str
    issuer_authentication_data: bytes | None
    cryptogram_verified: bool
    token_masked: str | None
    par: str | None
    atc: int | None


class AcquirerClient:
    """Sends authorization requests to the acquirer."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
        tls: ssl.SSLContext | None = None,
        dukpt: DukptDevice | None = None,
    ) -> None:
        self._dukpt = dukpt
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            transport=transport,
            verify=tls if tls is not None else True,
            headers={"User-Agent": "tap-terminal/0.1"},
        )

    def authorize(
        self,
        *,
        terminal_id: str,
        amount: int,
        currency: str,
        emv_data: bytes,
        idempotency_key: str,
        reference: str | None = None,
        intent: str = "sale",
    ) -> AuthorizationResponse:
        """Ask for an authorization of ``amount`` minor units with the card's data record.

        ``reference``: the merchant's order id, stored by the acquirer with the payment;
        ``intent``: ``sale``, or ``preauthorization`` for a hold completed later.

        With a DUKPT device, tags 57, 5A and 5F24 leave sealed under the next transaction's
        key (:mod:`terminal.online.dukpt`); a retry below reuses the same sealed body.
        """
        if self._dukpt is not None:
            emv_data = self._dukpt.seal(emv_data)
        body: dict[str, Any] = {
            "terminal_id": terminal_id,
            "amount": amount,
            "currency": currency,
            "emv_data": emv_data.hex().upper(),
        }
        if reference is not None:
            body["reference"] = reference
        if intent != "sale":
            body["intent"] = intent
        headers = {"Idempotency-Key": idempotency_key}
        response = self._post("/v1/authorizations", body, headers)
        if response.status_code >= 400:
            raise _rejection(response)
        try:
            doc = response.json()
            iad = doc.get("issuer_authentication_data")
            approved = doc["approved"]
            if not isinstance(approved, bool):
                # bool("false") is True: only a JSON boolean may approve a payment.
                raise TypeError("approved is not a boolean")
            return AuthorizationResponse(
                authorization_id=str(doc["authorization_id"]),
                approved=approved,
                response_code=str(doc["response_code"]),
                reason=str(doc["reason"]),
                issuer_authentication_data=bytes.fromhex(iad) if iad else None,
                cryptogram_verified=bool(doc.get("cryptogram_verified", False)),
                token_masked=doc.get("token_masked"),
                par=doc.get("par"),
                atc=doc.get("atc"),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AcquirerRejectedError(
                "the acquirer's answer is not a valid authorization response",
                status=response.status_code,
                code="malformed_response",
            ) from None

    def reverse(
        self, *, terminal_id: str, original_idempotency_key: str, idempotency_key: str
    ) -> bool:
        """Reverse the authorization sent under ``original_idempotency_key`` in full.

        True when the acquirer reversed it, False when it holds no approval under that key
        (nothing to undo). Raises like :meth:`authorize` when the reversal itself fails.
        """
        body = {"terminal_id": terminal_id, "original_idempotency_key": original_idempotency_key}
        response = self._post("/v1/reversals", body, {"Idempotency-Key": idempotency_key})
        if response.status_code == 404:
            rejection = _rejection(response)
            if rejection.code == "payment_unknown":
                return False
            raise rejection
        if response.status_code >= 400:
            raise _rejection(response)
        return True

    def post_json(self, path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """POST ``body`` to another state-changing endpoint; its JSON object answer.

        The same rules as :meth:`authorize`: the ``Idempotency-Key``, one retry when nothing
        was sent, problems mapped to :class:`~terminal.errors.AcquirerRejectedError`.
        """
        response = self._post(path, body, {"Idempotency-Key": idempotency_key})
        return _document(response)

    def get_json(self, path: str, params: dict[str, str | int]) -> dict[str, Any]:
        """GET a read-only resource (a list page, a rental); errors mapped as for POST."""
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException:
            raise AcquirerUnavailableError("no answer from the acquirer in time",
                                           maybe_delivered=True) from None  # fmt: skip
        except httpx.HTTPError as exc:
            raise AcquirerUnavailableError(
                f"cannot reach the acquirer at {self._http.base_url}: {exc.__class__.__name__}",
                maybe_delivered=False,
            ) from None
        return _document(response)

    def status(self, kind: str, idempotency_key: str, *, terminal_id: str) -> dict[str, Any]:
        """What became of the request of ``kind`` this terminal sent under ``idempotency_key``.

        ``GET /v1/status/{kind}/{key}?terminal_id=T``: ``status`` is ``processed`` (with the
        first ``answer``), ``in_progress`` or ``not_found`` (the contract of
        :mod:`terminal.journal.resolve`). Raises like :meth:`get_json`.
        """
        return self.get_json(f"/v1/status/{kind}/{idempotency_key}", {"terminal_id": terminal_id})

    @property
    def http(self) -> httpx.Client:
        """The HTTP client (base URL, TLS, timeouts) for senders of stored requests (the outbox)."""
        return self._http

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        for attempt in (1, 2):
            try:
                return self._http.post(path, json=body, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Nothing reached the acquirer: safe to retry once with the same key.
                if attempt == 2:
                    raise AcquirerUnavailableError(
                        f"cannot connect to the acquirer at {self._http.base_url}: {exc}",
                        maybe_delivered=False,
                    ) from None
            except httpx.TimeoutException:
                raise AcquirerUnavailableError(
                    "no answer from the acquirer in time", maybe_delivered=True
                ) from None
            except httpx.HTTPError as exc:
                raise AcquirerUnavailableError(
                    f"acquirer connection failed: {exc.__class__.__name__}", maybe_delivered=True
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover


def tls_context(ca: Path | None, certificate: Path | None, key: Path | None) -> ssl.SSLContext:
    """The TLS context for mutual TLS with the acquirer (its CA; this terminal's identity).

    Without ``ca`` the system's trusted CAs verify the acquirer. The files are read here, so a
    missing or unreadable one is a settings error before any card is tapped.
    """
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
        if certificate is not None and key is not None:
            context.load_cert_chain(certificate, key)
    except (OSError, ssl.SSLError) as exc:
        raise SettingsError(f"acquirer TLS files cannot be used: {exc}") from None
    return context


def _document(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer (a problem or anything else is rejected)."""
    if response.status_code >= 400:
        raise _rejection(response)
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise AcquirerRejectedError(
            "the acquirer's answer is not a JSON object",
            status=response.status_code,
            code="malformed_response",
        )
    return doc


def _rejection(response: httpx.Response) -> AcquirerRejectedError:
    """Map an RFC 9457 problem response (or any error body) into our exception."""
    code: str | None = None
    detail = response.reason_phrase
    try:
        problem = response.json()
        if isinstance(problem, dict):
            code = problem.get("code")
            detail = str(problem.get("detail") or problem.get("title") or detail)
    except ValueError:
        pass
    return AcquirerRejectedError(
        f"acquirer refused the request ({response.status_code}): {detail}",
        status=response.status_code,
        code=code,
    )
