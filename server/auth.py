"""Who may call: API-key authentication with scopes, TLS, and the rule for serving without.

``AuthInterceptor`` checks every ``kgrec.v1`` call (health checks and reflection stay open):
the key comes from metadata ``authorization: Bearer <key>`` or ``x-api-key: <key>``; no key
or an unknown one is ``UNAUTHENTICATED``, a key without the RPC's scope (:data:`METHOD_SCOPES`;
any other ``kgrec.v1`` method needs ``admin``) is ``PERMISSION_DENIED``. The caller's
:class:`Principal` is then set for the call: :func:`current_principal` gives it to the servicer
and the pipeline (``None`` when authentication is off).

Authentication may be off (no ``api_keys``) only on a loopback address, where only processes
on the same machine can connect, and the server logs a warning; any other address without
keys is a :class:`~kgrec.errors.ConfigError` unless ``insecure`` is set (``--insecure``).

TLS comes from ``tls_cert`` + ``tls_key`` (PEM paths); ``tls_client_ca`` also requires every
client to present a certificate signed by that CA (mutual TLS).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import grpc.aio

from kgrec.errors import ConfigError
from server.apikeys import KeyRing
from server.exposure import check_exposure as _check_exposure
from server.exposure import is_loopback
from server.interceptors import KGREC_METHOD_PREFIX, _WrappingInterceptor

if TYPE_CHECKING:
    from server.settings import Settings

logger = logging.getLogger(__name__)

_SERVICE = "/kgrec.v1.RecommenderService/"
#: The scope each ``kgrec.v1`` RPC needs; an RPC not listed needs ``admin``.
METHOD_SCOPES: dict[str, str] = {
    _SERVICE + "Recommend": "recommend",
    _SERVICE + "RecommendStream": "recommend",
    _SERVICE + "Feedback": "feedback",
}
ADMIN_SCOPE = "admin"
API_KEY_HEADER = "x-api-key"
_BEARER = "bearer "


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one call: the configured key's id and its scopes."""

    key_id: str
    scopes: frozenset[str]


principal_var: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "kgrec_principal", default=None
)


def current_principal() -> Principal | None:
    """The caller of the current call; ``None`` when authentication is off (loopback)."""
    return principal_var.get()


def scope_for(method: str) -> str:
    """The scope ``method`` (``/package.Service/Method``) needs."""
    return METHOD_SCOPES.get(method, ADMIN_SCOPE)


def presented_key(metadata: Any) -> str | None:
    """The key in ``authorization: Bearer`` or ``x-api-key`` metadata (the first wins)."""
    for key, value in metadata or ():
        if isinstance(value, bytes):
            continue
        if key == "authorization" and value[: len(_BEARER)].lower() == _BEARER:
            return value[len(_BEARER) :].strip()
        if key == API_KEY_HEADER:
            return value.strip()
    return None


class AuthInterceptor(_WrappingInterceptor):
    """Rejects ``kgrec.v1`` calls without a configured key holding the RPC's scope.

    Install it right after the request-id interceptor: it answers before the request is
    validated or counted against the concurrency limit, so an unauthenticated caller learns
    nothing about the request and holds no slot.
    """

    def __init__(self, keys: KeyRing) -> None:
        if not keys:
            raise ValueError("AuthInterceptor needs at least one key")
        self.keys = keys

    def applies_to(self, handler_call_details: grpc.HandlerCallDetails) -> bool:
        return handler_call_details.method.startswith(KGREC_METHOD_PREFIX)

    @contextlib.asynccontextmanager
    async def around(
        self, details: grpc.HandlerCallDetails, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[None]:
        key = presented_key(details.invocation_metadata)
        entry = self.keys.find(key) if key else None
        if entry is None:
            logger.info("%s: %s API key", details.method, "unknown" if key else "no")
            await context.abort(
                grpc.StatusCode.UNAUTHENTICATED,
                "unknown API key"
                if key
                else "missing API key: send metadata "
                "'authorization: Bearer <key>' or 'x-api-key: <key>'",
            )
        assert entry is not None  # abort raised otherwise
        scope = scope_for(details.method)
        if scope not in entry.scopes:
            logger.info("%s: key %r lacks scope %r", details.method, entry.key_id, scope)
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"API key {entry.key_id!r} lacks the {scope!r} scope this call needs",
            )
        # No reset on exit: the call's task (and so its context) ends with the call.
        principal_var.set(Principal(entry.key_id, entry.scopes))
        yield


def check_exposure(settings: Settings, keys: KeyRing) -> None:
    """ConfigError when ``settings`` would serve a non-loopback address with no keys."""
    _check_exposure(settings.host, insecure=settings.insecure, has_keys=bool(keys))


def warn_exposure(settings: Settings, keys: KeyRing) -> None:
    """Log what the configuration leaves open (called once at start)."""
    if not keys:
        if is_loopback(settings.host):
            logger.warning(
                "authentication is off (no api_keys): any process on this machine can call "
                "%s; configure api_keys before binding another address",
                settings.address,
            )
        else:
            logger.warning(
                "authentication is off on %s (--insecure): anyone who can reach it can act "
                "as any user",
                settings.address,
            )
    elif not settings.tls_cert and not is_loopback(settings.host):
        logger.warning(
            "API keys travel in plaintext to %s: set tls_cert and tls_key unless a proxy "
            "terminates TLS in front of it",
            settings.address,
        )


def _read_pem(name: str, path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"{name}: cannot read {path}: {e.strerror or e}") from e
    if b"-----BEGIN " not in data:
        raise ConfigError(f"{name}: {path} is not a PEM file")
    return data


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS credentials from the settings' PEM paths; ``None`` when TLS is off."""
    if not settings.tls_cert:
        return None
    cert = _read_pem("tls_cert", settings.tls_cert)
    key = _read_pem("tls_key", settings.tls_key)
    client_ca = (
        _read_pem("tls_client_ca", settings.tls_client_ca) if settings.tls_client_ca else None
    )
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


__all__ = [
    "ADMIN_SCOPE",
    "API_KEY_HEADER",
    "METHOD_SCOPES",
    "AuthInterceptor",
    "Principal",
    "check_exposure",
    "current_principal",
    "is_loopback",
    "presented_key",
    "scope_for",
    "server_credentials",
    "warn_exposure",
]
