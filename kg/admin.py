"""``kgrec graph``: init, import, stats, verify, export, drop.

Each command runs against the embedded FalkorDB in ``<--data-dir>/graph``, the same place
``kgrec serve`` keeps it (started for the command's
duration; when a server already owns the data dir, e.g. ``kgrec serve``, the command talks
to that one) or against the store at ``--uri`` (``bolt://``/``neo4j://``: password from
``$NEO4J_PASSWORD``). The commands are thin wrappers over idempotent functions:
:func:`kg.importers.run_import`, :func:`kg.export.export_graph`, :func:`kg.verify.verify_graph`.

Exit codes: 0 success; 1 ``verify`` found problems, or ``import --strict`` found bad rows;
2 a usage or runtime error (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import redis

from kgrec.command import dispatch
from kgrec.errors import ConfigError, InvalidInputError

from .embedded import GRAPH_SUBDIR, PID_NAME, EmbeddedFalkorDB
from .exceptions import DataDirInUseError
from .importers import IMPORTERS, ImportOptions, run_import
from .importers.checkpoint import FILENAME as CHECKPOINT_FILE
from .open import open_store
from .store import DEFAULT_BATCH, GraphStore

logger = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path("var/kgrec")
#: Seconds the embedded server may take to load its data before a command gives up.
START_TIMEOUT = 600.0
#: Where Neo4j / remote imports keep their checkpoint unless ``--state-dir`` says otherwise.
REMOTE_STATE_DIR = Path(".kgrec/import-state")


# -- opening the store -------------------------------------------------------------------------


def _data_dir(args: argparse.Namespace) -> Path:
    value = args.data_dir or os.environ.get("KGREC_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(value).expanduser().resolve()


def _uri(args: argparse.Namespace) -> str:
    return args.uri or os.environ.get("KGREC_GRAPH_URI", "")


def state_dir(args: argparse.Namespace) -> Path:
    """Where the import checkpoint lives: ``--state-dir``, else beside the graph's data."""
    if getattr(args, "state_dir", None):
        return Path(args.state_dir).expanduser().resolve()
    return REMOTE_STATE_DIR.resolve() if _uri(args) else _data_dir(args) / "import-state"


def compact_embedded(socket_path: str, timeout: float = 600.0) -> None:
    """Rewrite the embedded server's append-only file after a bulk load.

    The AOF replays every write query on start-up, which after a large import takes minutes;
    a rewrite turns it into one snapshot that loads in seconds. Waits for the rewrite.
    """
    client = redis.Redis(unix_socket_path=socket_path, socket_timeout=timeout)
    try:
        client.execute_command("BGREWRITEAOF")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = client.info("persistence")
            if not int(info["aof_rewrite_in_progress"]) and not int(info["aof_rewrite_scheduled"]):
                if info.get("aof_last_bgrewrite_status") == "err":
                    logger.warning("the append-only file rewrite failed; see the server log")
                return
            time.sleep(0.05)
        logger.warning("the append-only file rewrite did not finish within %.0fs", timeout)
    except redis.exceptions.RedisError as e:
        logger.warning("could not rewrite the append-only file: %s", e)
    finally:
        client.close()


def _embedded_socket(store: GraphStore) -> str | None:
    prefix = "falkordb+unix://"
    return store.uri[len(prefix) :] if store.uri.startswith(prefix) else None


@contextlib.contextmanager
def open_graph(args: argparse.Namespace) -> Iterator[GraphStore]:
    """The store the command works on, open for the duration of the ``with`` block."""
    uri = _uri(args)
    db: EmbeddedFalkorDB | None = None
    if not uri:
        data_dir = _data_dir(args) / GRAPH_SUBDIR  # where ``kgrec serve`` keeps it too
        # a large append-only file replays slowly: wait for it rather than give up
        db = EmbeddedFalkorDB(data_dir, start_timeout=START_TIMEOUT)
        try:
            db.start()
            uri = db.uri
        except DataDirInUseError:
            db = None
            info = json.loads((data_dir / PID_NAME).read_text(encoding="utf-8"))
            uri = f"falkordb+unix://{info['socket']}"
            logger.info("using the FalkorDB that already serves %s", data_dir)
    try:
        # admin reads (stats, verify, export) scan the whole graph: no per-read time limit
        store = open_store(uri, graph=args.graph, read_timeout_ms=None)
        try:
            store.ping()
            yield store
        finally:
            store.close()
    finally:
        if db is not None:
            db.stop()


def _command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Configure logging once; turn OS errors (bad paths, permissions) into one-line errors."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        level = (
            logging.DEBUG if args.verbose > 1 else logging.INFO if args.verbose else logging.WARNING
        )
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
        try:
            return fn(args)
        except OSError as e:
            where = f"{e.filename}: " if e.filename else ""
            raise ConfigError(f"{where}{e.strerror or e}") from e

    return run


# -- commands ----------------------------------------------------------------------------------


@_command
def cmd_init(args: argparse.Namespace) -> int:
    with open_graph(args) as store:
        store.init_schema()
        print(f"schema ready (constraints and indexes) on {store.uri}")
    return 0


@_command
def cmd_import(args: argparse.Namespace) -> int:
    from .importers.registry import check_path

    path = check_path(args.kind, Path(args.path))  # before starting anything
    if args.batch_size < 1:
        raise InvalidInputError("--batch-size", f"must be >= 1, got {args.batch_size}")
    movie_list = None
    if args.movie_list is not None:
        if args.kind != "inspired":
            raise InvalidInputError("--movie-list", "only the inspired kind takes a movie list")
        movie_list = Path(args.movie_list).expanduser()
        if not movie_list.is_file():
            raise InvalidInputError("--movie-list", f"{args.movie_list} is not a file")
    options = ImportOptions(
        batch_size=args.batch_size,
        strict=args.strict,
        state_dir=state_dir(args),
        progress=not args.no_progress and sys.stderr.isatty(),
        dry_run=args.dry_run,
        target=_uri(args) or str(_data_dir(args)),
        movie_list=movie_list,
    )
    with open_graph(args) as store:
        if not args.dry_run:
            store.init_schema()
        report = run_import(store, args.kind, path, options)
        socket = _embedded_socket(store)
        if socket and report.written and not args.no_compact:
            compact_embedded(socket)
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.summary())
    if report.interrupted:
        return 130
    if args.strict and report.bad_rows:
        print(f"--strict: {len(report.bad_rows)} bad row(s); nothing was written", file=sys.stderr)
        return 1
    return 0


def format_stats(stats: Any) -> str:
    lines = ["nodes"]
    lines += [f"  {k:<40} {v:>10,}" for k, v in stats.nodes.items()]
    lines.append(f"  {'total':<40} {sum(stats.nodes.values()):>10,}")
    lines.append("relationships")
    lines += [f"  {k:<40} {v:>10,}" for k, v in stats.relationships.items()]
    lines.append(f"  {'total':<40} {sum(stats.relationships.values()):>10,}")
    if stats.degree:
        deg = "  ".join(f"{k} {v:,.1f}" for k, v in stats.degree.items())
        lines.append(f"product degree: {deg}")
    return "\n".join(lines)


@_command
def cmd_stats(args: argparse.Namespace) -> int:
    with open_graph(args) as store:
        stats = store.stats()
    if args.json:
        data = {"nodes": stats.nodes, "relationships": stats.relationships, "degree": stats.degree}
        print(json.dumps(data, indent=1, sort_keys=True))
    else:
        print(format_stats(stats))
    return 0


@_command
def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import checks, verify_graph

    with open_graph(args) as store:
        problems = verify_graph(store, limit=args.limit)
    for p in problems:
        print(f"FAIL {p}")
    if problems:
        print(f"{len(problems)} of {len(checks())} checks failed", file=sys.stderr)
        return 1
    print(f"ok: {len(checks())} checks passed")
    return 0


@_command
def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_graph

    out = Path(args.out)
    if out.exists() and not args.force:
        raise InvalidInputError("out", f"{out} exists; pass --force to overwrite it")
    if out.exists() and out.is_dir():
        raise InvalidInputError("out", f"{out} is a directory")
    with open_graph(args) as store:
        counts = export_graph(store, out)
    n, r = counts.nodes, counts.relationships
    print(f"exported {n:,} nodes and {r:,} relationships to {counts.path}")
    return 0


def confirm_drop(args: argparse.Namespace, where: str) -> bool:
    """``--yes``, or an interactive "yes"; with no terminal to ask on, refuse."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise ConfigError("refusing to drop the graph without --yes (no terminal to confirm on)")
    try:
        answer = input(
            f"Delete every node, relationship and index of graph {args.graph!r} on {where}? [y/N] "
        )
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


@_command
def cmd_drop(args: argparse.Namespace) -> int:
    where = _uri(args) or str(_data_dir(args))
    if not confirm_drop(args, where):
        print("not dropped")
        return 1
    with open_graph(args) as store:
        store.drop_all()
        socket = _embedded_socket(store)
        if socket:
            compact_embedded(socket)  # or the next start replays everything that was dropped
    # checkpoints of interrupted imports point into the graph that is gone
    (state_dir(args) / CHECKPOINT_FILE).unlink(missing_ok=True)
    print(f"dropped graph {args.graph!r} on {where}")
    return 0


# -- parser ------------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("graph store")
    g.add_argument(
        "--data-dir",
        help=f"embedded FalkorDB data dir (default $KGREC_DATA_DIR or {DEFAULT_DATA_DIR})",
    )
    g.add_argument(
        "--uri",
        help="graph store URI instead of the embedded one, e.g. bolt://localhost:7687 "
        "(default $KGREC_GRAPH_URI; Neo4j user/password from $NEO4J_USER/$NEO4J_PASSWORD)",
    )
    g.add_argument("--graph", default="kgrec", help="graph name (default kgrec)")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)")
    return p


def graph_store_arguments() -> argparse.ArgumentParser:
    """A parent parser with the options that pick the graph store (``--data-dir``, ``--uri``,
    ``--graph``, ``-v``), for other commands that work on it through :func:`open_graph`."""
    return _common()


def resolve_data_dir(args: argparse.Namespace) -> Path:
    """The data dir those options name: ``--data-dir``, ``$KGREC_DATA_DIR`` or the default."""
    return _data_dir(args)


def add_graph_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``graph`` and its subcommands to ``kgrec``'s subparsers; returns the ``graph`` parser."""
    common = _common()
    graph = subparsers.add_parser(
        "graph", help="manage the knowledge graph: init, import, stats, verify, export, drop"
    )
    sub = graph.add_subparsers(dest="graph_command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create constraints and indexes (idempotent)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser(
        "import",
        parents=[common],
        help="bulk-import a file or data set",
        description="Import data into the graph (idempotent, resumable). Kinds: products "
        "(.jsonl/.csv), triples (.tsv head/relation/tail), interactions (.csv), movielens "
        "(a directory), export (a file written by `kgrec graph export`).",
    )
    p.add_argument("kind", choices=sorted(IMPORTERS), help="what the path holds")
    p.add_argument("path", help="the file (or, for movielens, the directory) to import")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="rows per UNWIND batch")
    p.add_argument("--strict", action="store_true", help="write nothing (exit 1) if any row is bad")
    p.add_argument("--dry-run", action="store_true", help="parse and validate only")
    p.add_argument("--state-dir", help="where the resume checkpoint lives")
    p.add_argument(
        "--movie-list",
        help="inspired: a movie CSV (movieName or title column, e.g. ReDial's "
        "movies_with_mentions.csv) whose titles join the catalog, so movies the dialogues "
        "never name can be recommended too (pass the same to kgrec train --conversations)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--no-compact",
        action="store_true",
        help="embedded store: skip the append-only file rewrite after the import",
    )
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("stats", parents=[common], help="counts by label and type, degree summary")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("verify", parents=[common], help="check consistency; exit 1 on problems")
    p.add_argument("--limit", type=int, default=5, help="examples shown per problem")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("export", parents=[common], help="write the graph as re-importable JSONL")
    p.add_argument("out", help="output file (.jsonl)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("drop", parents=[common], help="delete the whole graph (asks first)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--state-dir", help="the import checkpoint to forget with the graph")
    p.set_defaults(func=cmd_drop)
    return graph


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kg.admin ...``: the same commands without the rest of ``kgrec``."""
    parser = argparse.ArgumentParser(prog="kgrec")
    add_graph_parser(parser.add_subparsers(dest="command", required=True))
    return dispatch(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
