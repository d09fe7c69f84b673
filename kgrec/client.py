"""A client channel to a kgrec server with its credentials: API key, TLS, client certificate.

``add_connection_arguments`` gives a command ``--api-key`` (default ``$KGREC_API_KEY``),
``--tls``, ``--tls-ca``, ``--tls-cert`` and ``--tls-key``; ``channel_from_args`` opens the
channel they describe. The key is sent as ``authorization: Bearer <key>`` on every call, over
TLS or (to a loopback server) plaintext.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import grpc

from kgrec.errors import ConfigError

API_KEY_ENV = "KGREC_API_KEY"


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Sequence[tuple[str, str | bytes]] | None
    credentials: grpc.CallCredentials | None
    wait_for_ready: bool | None
    compression: Any


class _MetadataInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Adds fixed metadata (the API key) to every unary and response-streaming call."""

    def __init__(self, metadata: Sequence[tuple[str, str]]) -> None:
        self._metadata = tuple(metadata)

    def _details(self, details: Any) -> _CallDetails:
        return _CallDetails(
            details.method,
            details.timeout,
            (*(details.metadata or ()), *self._metadata),
            details.credentials,
            details.wait_for_ready,
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--api-key``, ``--tls``, ``--tls-ca``, ``--tls-cert``, ``--tls-key``."""
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_ENV, ""),
        help=f"API key when the server requires one (default ${API_KEY_ENV}; the variable "
        "keeps it out of shell history)",
    )
    parser.add_argument("--tls", action="store_true", help="use TLS (system CA roots)")
    parser.add_argument("--tls-ca", default="", metavar="PEM", help="use TLS, trusting this CA")
    parser.add_argument("--tls-cert", default="", metavar="PEM", help="client certificate (mTLS)")
    parser.add_argument("--tls-key", default="", metavar="PEM", help="its private key (mTLS)")


def _read(name: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise ConfigError(f"{name}: cannot read {path}: {e.strerror or e}") from e


def open_channel(
    target: str,
    *,
    api_key: str = "",
    tls: bool = False,
    tls_ca: str = "",
    tls_cert: str = "",
    tls_key: str = "",
) -> grpc.Channel:
    """A channel to ``target``: TLS when ``tls`` or any PEM path is given, the key on every
    call when ``api_key`` is given."""
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("--tls-cert, --tls-key: give both for a client certificate")
    if tls or tls_ca or tls_cert:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=_read("--tls-ca", tls_ca) if tls_ca else None,
            private_key=_read("--tls-key", tls_key) if tls_key else None,
            certificate_chain=_read("--tls-cert", tls_cert) if tls_cert else None,
        )
        channel = grpc.secure_channel(target, credentials)
    else:
        channel = grpc.insecure_channel(target)
    if api_key:
        channel = grpc.intercept_channel(
            channel, _MetadataInterceptor([("authorization", f"Bearer {api_key}")])
        )
    return channel


def channel_from_args(args: argparse.Namespace) -> grpc.Channel:
    """:func:`open_channel` with the options of :func:`add_connection_arguments`."""
    return open_channel(
        args.target,
        api_key=args.api_key,
        tls=args.tls,
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )


__all__ = ["API_KEY_ENV", "add_connection_arguments", "channel_from_args", "open_channel"]
