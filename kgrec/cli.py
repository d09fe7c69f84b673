"""The ``kgrec`` command: serve, chat, keys, graph, admin, train, evaluate.

Heavy packages (torch, transformers) are imported only by the subcommands that need them,
so ``kgrec chat`` and ``kgrec --help`` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from kgrec import __version__
from kgrec.command import dispatch


def _serve(args: argparse.Namespace) -> int:
    from server.serve import run
    from server.settings import Settings

    settings = Settings.load(args)
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
    )
    from server.log import install_request_id_filter

    install_request_id_filter()
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

    from server.apikeys import add_keys_parser

    add_keys_parser(sub)

    from kg.admin import add_graph_parser

    add_graph_parser(sub)

    from server.admin import add_admin_parser

    add_admin_parser(sub)

    from models.cli import add_evaluate_parser, add_train_parser

    add_train_parser(sub)
    evaluate = add_evaluate_parser(sub)
    from server.evaluate_conversations import add_conversation_arguments

    add_conversation_arguments(evaluate)
    movielens = evaluate.get_default("func")
    evaluate.set_defaults(
        func=lambda a: _evaluate_conversations(a) if a.conversations else movielens(a)
    )
    return parser


def _evaluate_conversations(args: argparse.Namespace) -> int:
    from server.evaluate_conversations import run

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
