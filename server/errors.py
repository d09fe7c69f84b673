"""The one table from exceptions to gRPC status codes.

=================================================  ====================  ===================
exception                                          status                details sent
=================================================  ====================  ===================
``InvalidInputError``                              ``INVALID_ARGUMENT``  ``field: problem``
``NotFoundError`` (session, item)                  ``NOT_FOUND``         what was not found
``UnavailableError`` / ``GraphUnavailableError``   ``UNAVAILABLE``       generic + request id
``DeadlineExceededError`` / ``TimeoutError``       ``DEADLINE_EXCEEDED`` generic + request id
``ConflictError`` (a session busy past retries)    ``ABORTED``           generic + request id
``OverloadedError``                                ``RESOURCE_EXHAUSTED`` generic + request id
anything else                                      ``INTERNAL``          generic + request id
=================================================  ====================  ===================

Only the first two rows send the exception's own text: those messages are written for the
client. Every other row sends a fixed sentence with the request id, so nothing internal
(hosts, queries, tracebacks) reaches the client; the full detail goes to the log.
``asyncio.TimeoutError`` is ``TimeoutError`` since Python 3.11.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import grpc

from kgrec.errors import (
    ConflictError,
    DeadlineExceededError,
    InvalidInputError,
    NotFoundError,
    OverloadedError,
    UnavailableError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One row of the table: the status for an exception type and what the client is told.

    ``details`` is a format string with ``{request_id}``; ``None`` sends ``str(exc)``.
    """

    exc_type: type[BaseException]
    code: grpc.StatusCode
    details: str | None


#: Checked in order; the first row whose type matches wins.
STATUS_TABLE: tuple[StatusRow, ...] = (
    StatusRow(InvalidInputError, grpc.StatusCode.INVALID_ARGUMENT, None),
    StatusRow(NotFoundError, grpc.StatusCode.NOT_FOUND, None),
    StatusRow(
        UnavailableError,
        grpc.StatusCode.UNAVAILABLE,
        "a backing service is unavailable, retry later (request id {request_id})",
    ),
    StatusRow(
        DeadlineExceededError,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "the request did not finish in time (request id {request_id})",
    ),
    StatusRow(
        TimeoutError,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        "the request did not finish in time (request id {request_id})",
    ),
    StatusRow(
        ConflictError,
        grpc.StatusCode.ABORTED,
        "concurrent updates to the same session, retry (request id {request_id})",
    ),
    StatusRow(
        OverloadedError,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "the server is overloaded, back off and retry (request id {request_id})",
    ),
)

#: What the client is told about an unexpected error.
INTERNAL_DETAILS = "internal error (request id {request_id})"


def status_for(exc: BaseException, request_id: str) -> tuple[grpc.StatusCode, str]:
    """The status code and the details string to send for ``exc``.

    Logs the exception: unexpected ones with their full traceback at ERROR, mapped ones at
    WARNING (server-side problems) or INFO (client mistakes) without a traceback.
    """
    for row in STATUS_TABLE:
        if isinstance(exc, row.exc_type):
            if row.details is None:
                logger.info("%s: %s", row.code.name, exc)
                return row.code, str(exc)
            logger.warning("%s: %s: %s", row.code.name, type(exc).__name__, exc)
            return row.code, row.details.format(request_id=request_id)
    logger.error("unhandled %s", type(exc).__name__, exc_info=exc)
    return grpc.StatusCode.INTERNAL, INTERNAL_DETAILS.format(request_id=request_id)


__all__ = ["INTERNAL_DETAILS", "STATUS_TABLE", "StatusRow", "status_for"]
