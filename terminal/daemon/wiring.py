"""What the daemon reads from the terminal settings: the acquirer's plain HTTP client, the
contactless limit an action must stay under, and when the client certificate expires."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from terminal.online import tls_context
from terminal.settings import TerminalSettings

__all__ = ["acquirer_http", "certificate_expiry", "contactless_limit"]


def acquirer_http(settings: TerminalSettings) -> httpx.Client:
    """The plain HTTP client the outbox and the health check use (mutual TLS for https)."""
    verify: ssl.SSLContext | bool = True
    if settings.acquirer_url.startswith("https:"):
        verify = tls_context(settings.acquirer_ca, settings.acquirer_certificate,
                             settings.acquirer_key)  # fmt: skip
    return httpx.Client(base_url=settings.acquirer_url.rstrip("/"), verify=verify,
                        timeout=settings.acquirer_timeout)  # fmt: skip


def contactless_limit(settings: TerminalSettings) -> int | None:
    """The highest contactless transaction limit of the configured combinations (Book B 3.1.1:
    at or above it no combination takes the amount contactless), None when none is set."""
    limits = [c.limits.transaction_limit for c in settings.combinations
              if c.limits.transaction_limit is not None]  # fmt: skip
    return max(limits) if limits else None


def certificate_expiry(path: Path | None) -> str | None:
    """When the terminal's client certificate expires (ISO 8601), None without one."""
    if path is None:
        return None
    from cryptography import x509

    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return "unreadable"
    return certificate.not_valid_after_utc.isoformat()
