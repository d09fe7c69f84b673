"""``kgrec admin``: operations on a shopper's data that span the graph and the models.

``kgrec admin forget-user USER`` deletes the user's feedback events, the sessions they own and
their user node from the graph (product popularity is recounted), their profile vector
from every model checkpoint in the model dir, and their records in the impression log
(``<data-dir>/impressions``, ``server/impression_log.py``); then it looks again and prints
what is left, which must be nothing (exit 1 otherwise). Run it against the graph ``kgrec
serve`` uses (same ``--data-dir``, or ``--uri``); a running server keeps the checkpoint it
loaded in memory until it restarts. The same deletion is the admin-scope RPC
``kgrec.v1.AdminService/ForgetUser`` (``server/servicer.py``), against the graph (and the
impression log) of the running server.

``kgrec admin reload`` asks a running server to serve the newest checkpoint of its model dir
(``AdminService/ReloadModel``; ``server/reload.py``), e.g. after ``kgrec train --since``.
Its in-memory caches of the user (the pipeline's profile cache) are dropped through
:func:`on_forget`.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kg.admin import graph_store_arguments, open_graph, resolve_data_dir
from kg.store import GraphStore
from kg.types import UserDataCounts
from kgrec.errors import InvalidInputError

from .impression_log import ImpressionLog, count_impressions, forget_impressions

logger = logging.getLogger(__name__)

_listeners: list[weakref.WeakMethod[Callable[[str], None]]] = []
_listeners_lock = threading.Lock()


def on_forget(callback: Callable[[str], None]) -> None:
    """Call the bound method ``callback(user_id)`` after every :func:`forget_user` in this
    process (held weakly: an object that is gone is not called, nor kept alive)."""
    with _listeners_lock:
        _listeners[:] = [ref for ref in _listeners if ref() is not None]
        _listeners.append(weakref.WeakMethod(callback))  # type: ignore[arg-type]


def _forgotten(user_id: str) -> None:
    with _listeners_lock:
        callbacks = [cb for ref in _listeners if (cb := ref()) is not None]
    for callback in callbacks:
        callback(user_id)


@dataclass(frozen=True, slots=True)
class ForgetReport:
    """What ``forget-user`` deleted and what it found afterwards (all zero when done)."""

    deleted: UserDataCounts
    profile_vectors: int  # checkpoints that held the user's vector
    remaining: UserDataCounts
    remaining_profile_vectors: int
    impressions: int = 0  # impression-log records (impressions and outcomes) deleted
    remaining_impressions: int = 0

    @property
    def complete(self) -> bool:
        return (
            self.remaining.total == 0
            and self.remaining_profile_vectors == 0
            and self.remaining_impressions == 0
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "deleted": asdict(self.deleted)
            | {"profile_vectors": self.profile_vectors, "impressions": self.impressions},
            "remaining": asdict(self.remaining)
            | {
                "profile_vectors": self.remaining_profile_vectors,
                "impressions": self.remaining_impressions,
            },
            "complete": self.complete,
        }


def _checkpoints_holding(model_dir: Path | None, user_id: str) -> list[Path]:
    if model_dir is None:
        return []
    from models.training.checkpoint import IDS, checkpoints

    holding = []
    for path in checkpoints(model_dir):
        try:
            if user_id in json.loads((path / IDS).read_text())["users"]:
                holding.append(path)
        except (OSError, ValueError, KeyError):
            logger.warning("cannot read the user ids of checkpoint %s", path)
    return holding


def forget_user(
    store: GraphStore,
    user_id: str,
    model_dir: Path | None = None,
    impressions: ImpressionLog | Path | None = None,
) -> ForgetReport:
    """Delete everything kgrec keeps about ``user_id`` and prove it (see the module docs).
    ``impressions``: the running server's impression log (its queue is written out first),
    or the folder of one."""
    if not user_id:
        raise InvalidInputError("user_id", "must not be empty")
    deleted = store.forget_user(user_id)
    _forgotten(user_id)
    vectors = 0
    if model_dir is not None:
        from models.training.checkpoint import forget_user as forget_in_checkpoint

        for path in _checkpoints_holding(model_dir, user_id):
            vectors += forget_in_checkpoint(path, user_id)
    records = remaining_records = 0
    if isinstance(impressions, ImpressionLog):
        records = impressions.forget(user_id)
        remaining_records = count_impressions(impressions.directory, user_id)
    elif impressions is not None:
        records = forget_impressions(impressions, user_id)
        remaining_records = count_impressions(impressions, user_id)
    return ForgetReport(
        deleted=deleted,
        profile_vectors=vectors,
        remaining=store.user_data_counts(user_id),
        remaining_profile_vectors=len(_checkpoints_holding(model_dir, user_id)),
        impressions=records,
        remaining_impressions=remaining_records,
    )


def format_report(user_id: str, report: ForgetReport) -> str:
    d, r = report.deleted, report.remaining

    def counts(c: UserDataCounts, vectors: int, records: int) -> str:
        return (
            f"{c.events} events, {c.sessions} sessions, {c.users} user nodes, "
            f"{vectors} profile vectors, {records} impression records"
        )

    verdict = "nothing of it remains" if report.complete else "SOME OF IT REMAINS"
    left = counts(r, report.remaining_profile_vectors, report.remaining_impressions)
    return (
        f"forgot user {user_id!r}\n"
        f"  deleted:   {counts(d, report.profile_vectors, report.impressions)}\n"
        f"  remaining: {left}  ({verdict})"
    )


def cmd_forget_user(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    model_dir = Path(args.model_dir) if args.model_dir else resolve_data_dir(args) / "models"
    impressions = resolve_data_dir(args) / "impressions"
    with open_graph(args) as store:
        report = forget_user(store, args.user_id, model_dir, impressions)
    if args.json:
        print(json.dumps({"user_id": args.user_id, **report.to_dict()}, indent=1))
    else:
        print(format_report(args.user_id, report))
    return 0 if report.complete else 1


def cmd_reload(args: argparse.Namespace) -> int:
    """``kgrec admin reload``: ask the running server at ``--target`` to serve the newest
    checkpoint of its model dir (``AdminService/ReloadModel``, admin scope). Exit 0 with the
    versions before and after; 1 when the server refuses (its reason on stderr: a broken
    checkpoint keeps the old model serving); 2 when it cannot be reached."""
    import sys

    import grpc

    from kgrec.client import channel_from_args
    from kgrec.v1 import recommender_pb2 as pb
    from kgrec.v1 import recommender_pb2_grpc as pb_grpc

    with channel_from_args(args) as channel:
        try:
            answer = pb_grpc.AdminServiceStub(channel).ReloadModel(
                pb.ReloadModelRequest(), timeout=args.timeout
            )
        except grpc.RpcError as e:
            code = e.code()  # type: ignore[attr-defined]
            print(f"reload refused: {code.name}: {e.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return (
                2 if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) else 1
            )
    if args.json:
        print(json.dumps({"previous_version": answer.previous_version,
                          "model_version": answer.model_version}))  # fmt: skip
    elif answer.previous_version == answer.model_version:
        print(f"serving {answer.model_version} (reloaded; no newer version)")
    else:
        print(f"serving {answer.model_version} (was {answer.previous_version})")
    return 0


def add_admin_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``admin`` and its subcommands to ``kgrec``'s subparsers."""
    from kgrec.client import add_connection_arguments

    admin = subparsers.add_parser(
        "admin", help="operations on shoppers' data and the served model: forget-user, reload"
    )
    sub = admin.add_subparsers(dest="admin_command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "reload",
        help="make a running server serve the newest checkpoint of its model dir",
        description="Calls AdminService/ReloadModel (needs an admin-scope key when the server "
        "has keys). The server loads the checkpoint off its event loop and swaps it in; turns "
        "already running finish on the old model, so no call fails. A checkpoint that cannot "
        "be loaded leaves the old model serving (exit 1). SIGHUP to kgrec serve does the same.",
    )
    p.add_argument("--target", default="localhost:50051", help="server host:port")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (default 120)")
    p.add_argument("--json", action="store_true", help="print the versions as JSON")
    add_connection_arguments(p)
    p.set_defaults(func=cmd_reload)
    p = sub.add_parser(
        "forget-user",
        parents=[graph_store_arguments()],
        help="delete a user's events, sessions and profile vectors, then prove none is left",
    )
    p.add_argument("user_id", help="the user id, exactly as the API received it")
    p.add_argument(
        "--model-dir", help="where the model checkpoints are (default <data-dir>/models)"
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_forget_user)
    return admin


__all__ = [
    "ForgetReport",
    "add_admin_parser",
    "cmd_reload",
    "forget_user",
    "format_report",
    "on_forget",
]
