"""Request ids in log records.

The request-id interceptor (``server/interceptors.py``) stores each call's id in
:data:`request_id_var`; :class:`RequestIdFilter` copies it onto every log record as
``record.request_id`` so a format string can print it (``%(request_id)s``). Code anywhere in
the call's task (pipeline, kg, models) logs through ``logging.getLogger(__name__)`` as usual
and its lines carry the id, because the filter sits on the handler, not on a logger.

Shoppers are logged only as :func:`user_ref`: a keyed hash of their user id, never the id
itself, and the text they type is not logged unless the ``log_message_text`` debug setting
asks for it.

:class:`JsonFormatter` writes each record as one JSON object per line (``log_format =
"json"``) for log shippers: time, level, logger, request id, message and any traceback.

Named ``log`` rather than ``logging`` so that it never shadows the standard library.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import json
import logging
import os
import secrets
from datetime import UTC, datetime
from typing import Any

#: The id of the gRPC call the current task serves; ``"-"`` outside a call.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "kgrec_request_id", default="-"
)

#: The default line format of :func:`configure_logging`.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


#: Environment variable with the key for :func:`user_ref`. Set the same value on every
#: replica to follow one shopper across their logs; unset, each process picks a random key
#: (hashes then match within one process's log only).
USER_REF_KEY_ENV = "KGREC_LOG_USER_KEY"

_user_ref_key = (os.environ.get(USER_REF_KEY_ENV) or secrets.token_hex(16)).encode()


def user_ref(user_id: str, key: bytes | None = None) -> str:
    """How a shopper appears in logs: ``u-`` and 12 hex digits of HMAC-SHA256(key, user_id)
    (keyed, so a guessable id such as ``user:42`` cannot be looked up by hashing it);
    ``"-"`` for an anonymous caller. ``key``: the process's log key unless given (the
    impression log keeps its own, ``server/impression_log.py``)."""
    if not user_id:
        return "-"
    digest = hmac.new(
        key or _user_ref_key, user_id.encode("utf-8", "surrogatepass"), hashlib.sha256
    )
    return "u-" + digest.hexdigest()[:12]


def log_turn(turn: Any, message_text: bool = False) -> None:
    """One INFO line per served turn (session, hashed user, items, step timings); the
    shopper's message only at DEBUG and only with ``message_text`` (``log_message_text``)."""
    timings = {k: round(v, 1) for k, v in turn.timings_ms.items()}
    items = len(turn.result.items) if turn.result is not None else 0
    log = logging.getLogger("server.pipeline")
    log.info(
        "turn session=%s user=%s items=%d timings_ms=%s",
        turn.session.id,
        user_ref(turn.query.user_id),
        items,
        timings,
    )
    if message_text:
        log.debug("turn session=%s message=%r", turn.session.id, turn.query.message)


def log_feedback(event: Any, duplicate: bool) -> None:
    """One INFO line per recorded feedback event, the shopper as a keyed hash."""
    logging.getLogger("server.pipeline").info(
        "feedback user=%s session=%s type=%s duplicate=%s",
        user_ref(event.user_id),
        event.session_id or "-",
        event.event_type.value,
        duplicate,
    )


def current_request_id() -> str:
    """The id of the call being served, or ``""`` outside a call."""
    value = request_id_var.get()
    return "" if value == "-" else value


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (the current call's id, ``"-"`` outside calls) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``ts`` (UTC ISO 8601), ``level``, ``logger``,
    ``request_id`` (``"-"`` outside calls), ``message``, and ``exc`` with the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def install_request_id_filter(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RequestIdFilter` to every handler of ``logger`` (default: root).

    For entry points that configure handlers themselves (``logging.basicConfig`` with a
    format that uses ``%(request_id)s``); idempotent.
    """
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())


def configure_logging(
    level: str | int = "INFO", fmt: str = LOG_FORMAT, *, json_lines: bool = False
) -> logging.Handler:
    """Install one stderr handler on the root logger that prints request ids (as ``fmt``
    lines, or JSON lines with ``json_lines``).

    Call it once, at an entry point (``kgrec serve``). Returns the handler it installed.
    """
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(fmt))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


__all__ = [
    "LOG_FORMAT",
    "USER_REF_KEY_ENV",
    "JsonFormatter",
    "RequestIdFilter",
    "configure_logging",
    "log_feedback",
    "log_turn",
    "current_request_id",
    "install_request_id_filter",
    "request_id_var",
    "user_ref",
]
