"""Terminal authentication: the verified client certificate, checked against the registry.

With mutual TLS (``tap-acquirer serve --tls``) the TLS layer refuses a handshake without a
client certificate signed by the acquirer's CA (``ssl.CERT_REQUIRED``). What TLS cannot know
is the acquirer's registry, so every request is then checked here:

1. a peer certificate is present (:class:`~acquirer.errors.AuthenticationError`, 401);
2. its CN names a registered terminal, that terminal is active, and the certificate's serial
   is the terminal's current one (a superseded or revoked certificate is refused);
3. the terminal the request speaks for (``terminal_id`` in the body or query) is the one
   the certificate names, and it may take the requested action (pay, bike, locker).

Failures of 2 and 3 are :class:`~acquirer.errors.TerminalForbiddenError` (403).

The certificate reaches the application through the ASGI scope: uvicorn does not put the
TLS peer certificate in it, so :class:`PeerCertificateProtocol` extends uvicorn's HTTP
protocol class to copy it into the connection's ``state`` (the ASGI lifespan state that
uvicorn copies into every request's scope), where :class:`TerminalAuthenticator` reads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from acquirer.ca import certificate_identity
from acquirer.errors import AuthenticationError, TerminalForbiddenError
from acquirer.registry import RegistryStore, TerminalRow, TerminalStatus

#: Key of the DER client certificate in a request's ``scope["state"]``.
PEER_CERTIFICATE = "tap.peer_certificate_der"


class PeerCertificateProtocol(AutoHTTPProtocol):  # type: ignore[misc,valid-type]
    """uvicorn's HTTP protocol, exposing the TLS peer certificate to the application.

    A module-level class, so that uvicorn's worker processes (started with ``spawn``) can
    import it by name.
    """

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Copy the peer certificate (DER) into this connection's copy of the app state."""
        super().connection_made(transport)
        ssl_object: Any = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        # A per-connection copy: uvicorn copies app_state into each request's scope.
        state: dict[str, Any] = getattr(self, "app_state", {})
        self.app_state = {**state, PEER_CERTIFICATE: der}


class TerminalAuthenticator:
    """Who is asking: the terminal of the request's client certificate, or nobody (dev)."""

    def __init__(self, store: RegistryStore, *, required: bool) -> None:
        self._store = store
        self.required = required

    def authenticate(self, request: Request) -> TerminalRow | None:
        """The registered terminal behind the request's certificate; ``None`` in plain HTTP."""
        if not self.required:
            return None
        state: dict[str, Any] = request.scope.get("state") or {}
        der = state.get(PEER_CERTIFICATE)
        if not der:
            raise AuthenticationError("a client certificate is required (mutual TLS)")
        terminal_id, serial = certificate_identity(der)
        terminal = self._store.get_terminal(terminal_id)
        if terminal is None:
            raise TerminalForbiddenError("the client certificate names an unknown terminal")
        if terminal.status is not TerminalStatus.ACTIVE:
            raise TerminalForbiddenError(f"terminal {terminal_id} is revoked")
        if terminal.cert_serial != serial:
            raise TerminalForbiddenError(
                f"this certificate of terminal {terminal_id} was superseded by a newer one"
            )
        return terminal

    @staticmethod
    def check(terminal: TerminalRow | None, terminal_id: str, action: str | None = None) -> None:
        """Refuse a request that speaks for another terminal, or for a forbidden action."""
        if terminal is None:
            return
        if terminal.id != terminal_id:
            raise TerminalForbiddenError(
                f"the client certificate is for terminal {terminal.id}, "
                f"the request speaks for {terminal_id}"
            )
        if action is not None and action not in terminal.actions:
            raise TerminalForbiddenError(f"terminal {terminal.id} is not allowed to {action}")


class TerminalCheck:
    """The route's check of the calling terminal, for one action: ``allowed(terminal_id)``.

    Made by the :func:`terminal_for` dependency; called by the handler once the request is
    validated (so a malformed request is still a 422 before any certificate is looked at),
    with the terminal the request speaks for. Refuses as :meth:`TerminalAuthenticator.check`.
    """

    __slots__ = ("_action", "_authenticator", "_request")

    def __init__(
        self, request: Request, authenticator: TerminalAuthenticator, action: str | None
    ) -> None:
        self._request = request
        self._authenticator = authenticator
        self._action = action

    def __call__(self, terminal_id: str) -> None:
        """Authenticate the request's terminal; refuse it unless it is ``terminal_id`` and
        may take the action."""
        authenticator = self._authenticator
        authenticator.check(authenticator.authenticate(self._request), terminal_id, self._action)


def terminal_for(action: str | None = None) -> Callable[[Request], TerminalCheck]:
    """The FastAPI dependency of a route taken by a terminal with ``action`` (None: any).

    ``allowed: Annotated[TerminalCheck, Depends(terminal_for("bike"))]``; the authenticator
    is the app's (``app.state.authenticator``, set by :func:`acquirer.app.create_app`).
    """

    def dependency(request: Request) -> TerminalCheck:
        return TerminalCheck(request, request.app.state.authenticator, action)

    return dependency
