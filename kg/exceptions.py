"""Errors raised by the ``kg`` package, all under :class:`kgrec.errors.KgrecError`.

Hierarchy (kgrec roots in brackets)::

    [InvalidInputError]
    └── SchemaNameError          a label / relationship type not on the allow-list
    [ConfigError]
    └── DataDirInUseError        a live embedded server already owns the data dir
    [GraphUnavailableError]
    └── EmbeddedServerError      the embedded FalkorDB did not start or stop cleanly
    [KgrecError]
    └── GraphQueryError          the database rejected a query (a bug, not user input)

Connection failures of either backend surface as :class:`kgrec.errors.GraphUnavailableError`,
raised ``from`` the driver's own exception.
"""

from __future__ import annotations

from kgrec.errors import ConfigError, GraphUnavailableError, InvalidInputError, KgrecError


class SchemaNameError(InvalidInputError):
    """A label or relationship type that is not allowed (``field`` names which)."""


class DataDirInUseError(ConfigError):
    """The data directory is already served by a live embedded FalkorDB."""


class EmbeddedServerError(GraphUnavailableError):
    """The embedded FalkorDB child process could not be started or answered nothing."""


class GraphQueryError(KgrecError):
    """The database rejected a query; the message carries the database's own text."""


__all__ = [
    "DataDirInUseError",
    "EmbeddedServerError",
    "GraphQueryError",
    "SchemaNameError",
]
