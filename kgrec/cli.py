"""The ``kgrec`` command: ``serve``, ``chat``, ``graph``, ``train``, ``evaluate``.

Heavy packages (torch, transformers) are imported only by the subcommands that need them,
so ``kgrec chat`` and ``kgrec --help`` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from kgrec import __version__
from kgrec.errors import KgrecError


def _serve(args: argparse.Namespace) -> int:
    from server.serve import run
    from server.settings import Settings

    settings = Settings.load(args)
    from server.log import configure_logging

    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    asyncio.run(run(settings))
    return 0


def _chat(args: argparse.Namespace) -> int:
    from kgrec.chat import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kgrec", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"kgrec {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    from server.settings import add_arguments

    serve = sub.add_parser("serve", help="run the gRPC server (embedded graph DB by default)")
    add_arguments(serve)
    serve.set_defaults(func=_serve)

    from kgrec.chat import build_parser as build_chat_parser

    chat = sub.add_parser("chat", help="talk to a running server in the terminal")
    build_chat_parser(chat)
    chat.set_defaults(func=_chat)

    from kg.admin import add_graph_parser

    add_graph_parser(sub)

    from models.cli import add_evaluate_parser, add_train_parser

    add_train_parser(sub)
    add_evaluate_parser(sub)
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed subcommand: kgrec errors are one line and exit 2, Ctrl-C exits 130."""
    try:
        return int(args.func(args) or 0)
    except KgrecError as e:
        print(f"kgrec: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
