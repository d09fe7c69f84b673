"""Who can reach the server: the rule that an address other than loopback needs API keys.

Its own module because :class:`server.settings.Settings` checks it when it validates, and the
authentication layer (:mod:`server.auth`) uses it too; neither needs the other for it.
"""

from __future__ import annotations

import ipaddress

from kgrec.errors import ConfigError

__all__ = ["check_exposure", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs (``127.0.0.0/8``, ``::1``)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, *, insecure: bool, has_keys: bool) -> None:
    """ConfigError when ``host`` is not loopback, no keys are configured and ``insecure``
    was not given."""
    if has_keys or insecure or is_loopback(host):
        return
    raise ConfigError(
        f"host: {host!r} is not a loopback address and no api_keys are configured, "
        "so anyone who can reach the port could act as any user. Configure keys "
        "(`kgrec keys new --id NAME` prints a key and its api_keys line), or pass --insecure "
        "to serve without authentication anyway"
    )
