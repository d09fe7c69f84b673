"""API keys: how they are made, stored (hashed) in settings, and checked.

A key is ``kgrec_`` followed by 43 URL-safe characters (32 random bytes). The server never
sees it stored: the ``api_keys`` setting (TOML file or ``$KGREC_API_KEYS``) holds one line
per key, ``ID:SCOPES:HASH``::

    shop-frontend:recommend,feedback:sha256:9c1d...(salt, 32 hex):4be0...(digest, 64 hex)
    ops:admin:sha256:...:...

``kgrec keys new --id shop-frontend --scopes recommend,feedback`` prints a fresh key and its
line. ``ID`` names the caller in logs and is the principal the server hands to the pipeline;
``SCOPES`` are among :data:`SCOPES`.

The hash is SHA-256 over a per-key random salt and the key. A slow password hash (scrypt,
PBKDF2) would buy nothing here: keys are 256 random bits, so a leaked hash cannot be brute
forced anyway, while a slow hash would cost every call tens of milliseconds of CPU and give
anyone a cheap way to burn it. Keys shorter than :data:`MIN_KEY_CHARS` are refused for that
reason. A presented key is hashed with every entry's salt and compared with
:func:`hmac.compare_digest`, always against every entry, so the time taken does not say
which entry (if any) was close.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from kgrec.errors import ConfigError

#: What a key may be allowed to do. ``admin`` covers every ``kgrec.v1`` RPC that is not
#: ``recommend`` or ``feedback`` (none exists yet; new ones are admin-only by default).
SCOPES = ("recommend", "feedback", "admin")
KEY_PREFIX = "kgrec_"
#: A key given to ``kgrec keys hash`` must be at least this long (generated ones are 49).
MIN_KEY_CHARS = 32
HASH_SCHEME = "sha256"
_SALT_BYTES = 16
_ID_RE = re.compile(r"[A-Za-z0-9._\-]{1,64}")
_HEX_RE = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One configured key: its id, what it may do, and its salted hash (never the key)."""

    key_id: str
    scopes: frozenset[str]
    salt: bytes
    digest: bytes

    def line(self) -> str:
        """The ``ID:SCOPES:HASH`` line this key is configured with."""
        scopes = ",".join(s for s in SCOPES if s in self.scopes)
        return f"{self.key_id}:{scopes}:{HASH_SCHEME}:{self.salt.hex()}:{self.digest.hex()}"


def _digest(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8")).digest()


def hash_key(key: str, key_id: str, scopes: Iterable[str], *, salt: bytes | None = None) -> ApiKey:
    """The configured form of ``key`` (a fresh random salt unless ``salt`` is given)."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    entry = ApiKey(key_id, frozenset(scopes), salt, _digest(salt, key))
    _check_entry(entry, where="key")
    return entry


def new_key() -> str:
    """A fresh random key: ``kgrec_`` and 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def _check_entry(entry: ApiKey, where: str) -> None:
    if not _ID_RE.fullmatch(entry.key_id):
        raise ConfigError(f"{where}: key id {entry.key_id!r} must be 1-64 of [A-Za-z0-9._-]")
    unknown = sorted(entry.scopes - set(SCOPES))
    if unknown or not entry.scopes:
        raise ConfigError(
            f"{where}: key {entry.key_id!r} has scopes {sorted(entry.scopes)}; "
            f"each must be one of {', '.join(SCOPES)} (at least one)"
        )


def parse_line(line: str, where: str = "api_keys") -> ApiKey:
    """One ``ID:SCOPES:sha256:SALT:DIGEST`` line; ConfigError naming what is wrong."""
    line = line.strip()
    if ":" not in line:  # keys have no colon: most likely a plaintext key pasted in
        raise ConfigError(
            f"{where}: an entry without ':' (a plaintext key?); configure only the line "
            "`kgrec keys new` prints (ID:SCOPES:sha256:SALT:DIGEST) and give the key itself "
            "to the client"
        )
    parts = line.split(":")
    if len(parts) != 5 or parts[2] != HASH_SCHEME:
        raise ConfigError(
            f"{where}: {line[:24]!r}... is not ID:SCOPES:sha256:SALT:DIGEST "
            "(the line `kgrec keys new` prints)"
        )
    key_id, scopes, _, salt, digest = parts
    if not (
        _HEX_RE.fullmatch(salt)
        and len(salt) == 2 * _SALT_BYTES
        and _HEX_RE.fullmatch(digest)
        and len(digest) == 64
    ):
        raise ConfigError(
            f"{where}: key {key_id!r}: the salt must be 32 and the digest 64 lowercase hex digits"
        )
    entry = ApiKey(
        key_id,
        frozenset(s.strip() for s in scopes.split(",") if s.strip()),
        bytes.fromhex(salt),
        bytes.fromhex(digest),
    )
    _check_entry(entry, where)
    return entry


class KeyRing:
    """The configured keys; :meth:`find` maps a presented key to its entry."""

    def __init__(self, entries: Iterable[ApiKey]) -> None:
        self.entries = tuple(entries)
        seen: set[str] = set()
        for entry in self.entries:
            if entry.key_id in seen:
                raise ConfigError(f"api_keys: key id {entry.key_id!r} appears twice")
            seen.add(entry.key_id)

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        """Keys from the ``api_keys`` setting: lines (or ``;``-separated entries); blank lines
        and ``#`` comments are skipped."""
        lines = (part.strip() for raw in text.splitlines() for part in raw.split(";"))
        return cls(parse_line(line) for line in lines if line and not line.startswith("#"))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def find(self, key: str) -> ApiKey | None:
        """The entry ``key`` hashes to, or ``None``; checks every entry whatever matches."""
        found: ApiKey | None = None
        for entry in self.entries:
            if hmac.compare_digest(_digest(entry.salt, key), entry.digest):
                found = entry
        return found


def add_keys_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``kgrec keys new`` and ``kgrec keys hash``."""
    keys = sub.add_parser("keys", help="make API keys and the hashed lines to configure them")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    for name, text in (
        ("new", "print a fresh random key and its api_keys line"),
        ("hash", "read an existing key from stdin and print its api_keys line"),
    ):
        cmd = keys_sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--id", required=True, dest="key_id", help="names the caller in logs")
        cmd.add_argument(
            "--scopes",
            default="recommend,feedback",
            help=f"comma-separated, of {', '.join(SCOPES)} (default recommend,feedback)",
        )
        cmd.set_defaults(func=_keys_new if name == "new" else _keys_hash)


def _scopes_arg(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _keys_new(args: argparse.Namespace) -> int:
    key = new_key()
    entry = hash_key(key, args.key_id, _scopes_arg(args.scopes))
    print(f"key (give it to the client; it is not stored anywhere): {key}")
    print("api_keys line (TOML `api_keys = [...]` or $KGREC_API_KEYS):")
    print(entry.line())
    return 0


def _keys_hash(args: argparse.Namespace) -> int:
    key = sys.stdin.readline().strip()
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(
            f"key: {len(key)} characters read from stdin; at least {MIN_KEY_CHARS} are needed "
            "(`kgrec keys new` makes one)"
        )
    print(hash_key(key, args.key_id, _scopes_arg(args.scopes)).line())
    return 0


__all__ = [
    "KEY_PREFIX",
    "MIN_KEY_CHARS",
    "SCOPES",
    "ApiKey",
    "KeyRing",
    "add_keys_parser",
    "hash_key",
    "new_key",
    "parse_line",
]
