"""The ``kgrec`` command: serve, chat, keys, graph, admin, train, evaluate.

Heavy packages (torch, transformers) are imported only by the subcommands that need them,
so ``kgrec chat`` and ``kgrec --help`` start fast.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from kgrec import __version__
from kgrec.command import dispatch


def _serve(args: argparse.Namespace) -> int:
    from server.settings import Settings

    settings = Settings.load(args)
    if settings.device.startswith("cuda"):  # no GPU: say so now, not after the graph's start
        from models.training.device import resolve_device

        resolve_device(settings.device)
    from server.log import configure_logging

    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    # say something before the heavy imports (torch, transformers: seconds on a cold cache)
    logging.getLogger("kgrec.serve").info(
        "starting kgrec serve (data dir %s); the first start also builds a demo store and "
        "trains a small model",
        settings.data_dir,
    )
    from server.app import ListenError
    from server.preload import spawn_embedded_graph

    try:
        if settings.worker_count > 1:
            from server.workers import serve_workers

            code = serve_workers(settings)
        else:
            graph = spawn_embedded_graph(settings)  # loads its snapshot while we import torch
            from server.serve import run

            asyncio.run(run(settings, graph=graph))
            code = 0
    except KeyboardInterrupt:  # Ctrl-C during start-up; what had started is stopped already
        code = 130
    except ListenError as e:  # the port is taken: one line says so, no traceback
        logging.getLogger("kgrec.serve").error("%s", e)
        code = 2
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """End ``kgrec serve`` without the interpreter's teardown.

    By now the server has drained, the store is closed and the graph DB child has stopped
    (its appendonly file fsynced), so nothing acknowledged is pending. What is left is
    freeing torch, transformers and a few hundred thousand objects one by one, which took
    5-10 s after "stopped" on a busy machine. So: let any non-daemon thread finish (briefly),
    run the atexit handlers, flush the logs and streams, and leave with ``os._exit``.
    """
    deadline = 1.0
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join(deadline)
    atexit._run_exitfuncs()  # e.g. the graph DB child's stop (a no-op once stopped)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # closed or broken pipe: nothing to say
            stream.flush()
    os._exit(code)


def _chat(args: argparse.Namespace) -> int:
    from kgrec.chat import run

    code = run(args)
    if code == 130:  # Ctrl-C: the history is saved; leave without waiting on gRPC's teardown
        _exit_now(code)
    return code


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
    from server.evaluate_policy import add_policy_arguments

    add_policy_arguments(evaluate)
    movielens = evaluate.get_default("func")
    evaluate.set_defaults(
        func=lambda a: (
            _evaluate_policy(a)
            if a.policy
            else _evaluate_conversations(a)
            if a.conversations
            else movielens(a)
        )
    )
    return parser


def _evaluate_policy(args: argparse.Namespace) -> int:
    from server.evaluate_policy import run

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return run(args)


def _evaluate_conversations(args: argparse.Namespace) -> int:
    from server.evaluate_conversations import run

    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
