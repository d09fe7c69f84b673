"""``kgrec chat``: talk to a running kgrec server from the terminal.

Type what you are looking for; the server answers with a numbered list of items (title,
price, brand, score), the reasons for each with the knowledge-graph path that grounds it, a
short reply and one line saying how it read your message. Paths are drawn the way their edges
really point, e.g. ``Saucony Ride -[IN_CATEGORY]-> Running shoes`` or ``Nike <-[HAS_BRAND]- Air
Max`` for an edge walked backwards. The reply leaves out the sentences that only repeat the
list. The session id is kept across turns, so "cheaper" or "not that brand" refine the last
answer.

In a terminal the input line has editing and history (GNU readline: arrow keys, Ctrl-R),
kept across runs in ``~/.kgrec/chat_history`` (``--history`` picks another file, ``""`` keeps
none). Ctrl-C or Ctrl-D leaves at once, also in the middle of a call.

Commands act on the items of the last list::

    :why N    every reason and full KG path of item N
    :like N   :dislike N   :click N   :cart N   :buy N   :dismiss N   :rate N 4
    :new      start a new session
    :help     this list
    :quit     leave (or end of input, Ctrl-D)

gRPC errors are printed as one line (status and details), never as a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from kgrec.chat_format import (
    ReplyFilter,
    concise_reply,
    format_error,
    format_intent,
    format_items,
    format_why,
)
from kgrec.client import add_connection_arguments, channel_from_args
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc

PROMPT = "you> "
HELP = """commands (N is an item number from the last list):
  :why N  all reasons and full KG paths of item N
  :like N  :dislike N  :click N  :cart N  :buy N  :dismiss N  :rate N <0-5>
  :new  start a new session    :help  this text    :quit  leave (or Ctrl-D / Ctrl-C)"""
#: Where the input history is kept between runs (``--history``).
DEFAULT_HISTORY = "~/.kgrec/chat_history"
HISTORY_LENGTH = 1000
#: Feedback commands and the event each sends.
FEEDBACK_COMMANDS: dict[str, pb.EventType] = {
    ":like": pb.EVENT_TYPE_LIKE,
    ":dislike": pb.EVENT_TYPE_DISLIKE,
    ":click": pb.EVENT_TYPE_CLICK,
    ":cart": pb.EVENT_TYPE_ADD_TO_CART,
    ":buy": pb.EVENT_TYPE_PURCHASE,
    ":dismiss": pb.EVENT_TYPE_DISMISS,
    ":rate": pb.EVENT_TYPE_RATING,
}


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """The ``kgrec chat`` options, added to ``parser`` (a new one when ``None``)."""
    parser = parser or argparse.ArgumentParser(
        prog="kgrec chat", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--target", default="localhost:50051", help="server host:port")
    parser.add_argument("--user-id", default="", help="who you are (empty: anonymous)")
    parser.add_argument("--limit", type=int, default=5, help="items per answer (1..100)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    parser.add_argument(
        "--stream", action="store_true", help="use RecommendStream (reply printed as it comes)"
    )
    add_connection_arguments(parser)  # --api-key ($KGREC_API_KEY), --tls-ca, --tls-cert, ...
    parser.add_argument(
        "--history",
        default=DEFAULT_HISTORY,
        help=f"file keeping what you typed across runs (default {DEFAULT_HISTORY}; '' for none)",
    )
    return parser


@dataclass
class ChatSession:
    """The client side of one conversation: the stub, the session id and the last list."""

    stub: pb_grpc.RecommenderServiceStub
    out: TextIO
    user_id: str = ""
    limit: int = 5
    timeout: float = 30.0
    stream: bool = False
    session_id: str = ""
    items: list[pb.RankedItem] = field(default_factory=list)
    #: KG id -> name of every entity, item and path node seen, for the intent line.
    names: dict[str, str] = field(default_factory=dict)

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the conversation should end."""
        line = line.strip()
        if not line:
            return True
        if any(unicodedata.category(c) == "Cc" for c in line):
            self.say("not sent: the line has terminal control characters (an arrow key?)")
            return True
        if not line.startswith(":"):
            self.recommend(line)
            return True
        command, *args = line.split()
        if command in {":quit", ":q", ":exit"}:
            return False
        if command == ":help":
            self.say(HELP)
        elif command == ":new":
            self.session_id, self.items = "", []
            self.say("(new session)")
        elif command == ":why":
            item = self._item(command, args, want=1)
            if item is not None:
                for text in format_why(int(args[0]), item):
                    self.say(text)
        elif command in FEEDBACK_COMMANDS:
            self.feedback(command, args)
        else:
            self.say(f"unknown command {command!r}; :help lists them")
        return True

    def _request(self, message: str) -> pb.RecommendRequest:
        return pb.RecommendRequest(
            user_id=self.user_id,
            session_id=self.session_id,
            message=message,
            limit=self.limit,
            explain=True,
        )

    def recommend(self, message: str) -> None:
        try:
            if self.stream:
                self._recommend_stream(message)
                return
            response = self.stub.Recommend(self._request(message), timeout=self.timeout)
        except grpc.RpcError as e:
            self.say(format_error(e))
            return
        self.session_id = response.session_id or self.session_id
        self._remember(response.items)
        for text in format_items(response.items) or ["(no items)"]:
            self.say(text)
        self.say(f"bot> {concise_reply(response.reply, response.items)}")
        self._say_intent(response.intent)

    def _say_intent(self, intent: pb.ParsedIntent) -> None:
        # remembered: a later turn's constraints still name what this one linked ("not Nike")
        self.names.update((e.entity_id, e.name) for e in intent.entities if e.name)
        self.say(format_intent(intent, self.names))

    def _remember(self, items: Sequence[pb.RankedItem]) -> None:
        """Keep ``items`` as the last list and learn the names of what they mention."""
        self.items = list(items)
        for item in items:
            self.names[item.item_id] = item.title
            for reason in item.reasons:
                self.names.update((n.id, n.name) for n in reason.path.nodes if n.name)

    def _recommend_stream(self, message: str) -> None:
        items: list[pb.RankedItem] = []
        concise: ReplyFilter | None = None  # set once the reply starts

        def start_reply() -> ReplyFilter:
            for text in format_items(items) or ["(no items)"]:
                self.say(text)
            self.out.write("bot> ")
            return ReplyFilter(items)

        try:
            for chunk in self.stub.RecommendStream(self._request(message), timeout=self.timeout):
                self.session_id = chunk.session_id or self.session_id
                kind = chunk.WhichOneof("payload")
                if kind == "item":
                    items.append(chunk.item)
                elif kind == "reply_text":
                    concise = concise or start_reply()
                    self.out.write(concise.feed(chunk.reply_text))
                    self.out.flush()
                elif kind == "end":
                    concise = concise or start_reply()
                    self.say(concise.finish())
                    concise = None
                    self._remember(items)
                    self._say_intent(chunk.end.intent)
        except grpc.RpcError as e:
            if concise is not None:
                self.say(concise.finish())
            self.say(format_error(e))
        self._remember(items)

    def _item(self, command: str, args: list[str], want: int) -> pb.RankedItem | None:
        """Item ``args[0]`` of the last list, or None after saying what is wrong."""
        if len(args) != want or not args[0].isdigit():
            self.say(f"usage: {command} N" + (" RATING" if want == 2 else ""))
            return None
        if not self.items:
            self.say("no items yet: ask for something first")
            return None
        n = int(args[0])
        if not 1 <= n <= len(self.items):
            self.say(f"no item {n}: the last list has items 1..{len(self.items)}")
            return None
        return self.items[n - 1]

    def feedback(self, command: str, args: list[str]) -> None:
        event_type = FEEDBACK_COMMANDS[command]
        want = 2 if event_type == pb.EVENT_TYPE_RATING else 1
        item = self._item(command, args, want)
        if item is None:
            return
        value = 0.0
        if want == 2:
            try:
                value = float(args[1])
            except ValueError:
                self.say(f"usage: {command} N RATING")
                return
        now = time.time()
        request = pb.FeedbackRequest(
            user_id=self.user_id,
            session_id=self.session_id,
            item_id=item.item_id,
            event_type=event_type,
            value=value,
            client_time=Timestamp(seconds=int(now), nanos=int((now % 1) * 1e9)),
            idempotency_key=uuid.uuid4().hex,
        )
        try:
            response = self.stub.Feedback(request, timeout=self.timeout)
        except grpc.RpcError as e:
            self.say(format_error(e))
            return
        verb = command.removeprefix(":")
        note = " (already recorded)" if response.duplicate else ""
        self.say(f"ok: {verb} {item.title!r}{note}")


def _listen_to_ctrl_c() -> None:
    """Ctrl-C leaves the chat even when it was started with SIGINT ignored or blocked (a
    background job of a non-interactive shell, ``nohup``, some supervisors pass that on, and
    Python then installs no handler of its own): the chat is interactive, so it takes SIGINT
    back."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Parse ``argv`` and run the chat; returns the exit status (0 on :quit or end of input)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a usage error argparse has printed
        return e.code if isinstance(e.code, int) else 2
    return run(args, stdin=stdin, stdout=stdout)


@contextlib.contextmanager
def _readline_history(path: str) -> Iterator[None]:
    """GNU readline for ``input()`` (editing, arrow-key history), loaded from and saved to
    ``path`` (nothing kept when empty). Without the readline module input stays plain."""
    try:
        import readline
    except ImportError:  # e.g. Windows: plain input, arrow keys do nothing useful
        yield
        return
    file = Path(os.path.expanduser(path)) if path else None
    readline.clear_history()
    if file is not None and file.is_file():
        with contextlib.suppress(OSError):
            readline.read_history_file(file)
    readline.set_history_length(HISTORY_LENGTH)
    try:
        yield
    finally:
        if file is not None:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(file)
            except OSError as e:  # a read-only home should not spoil the exit
                print(f"(history not saved: {e})", file=sys.stderr)


def _terminal_lines() -> Iterator[str]:
    """Lines typed at the prompt, read with ``input()`` so readline edits them."""
    while True:
        try:
            yield input(PROMPT)
        except EOFError:
            print()
            return


def _piped_lines(stdin: TextIO, stdout: TextIO, prompt: bool) -> Iterator[str]:
    while True:
        if prompt:
            stdout.write(PROMPT)
            stdout.flush()
        line = stdin.readline()
        if not line:  # end of input
            if prompt:
                print(file=stdout)
            return
        if not prompt and line.strip():
            print(f"{PROMPT}{line.rstrip()}", file=stdout, flush=True)  # transcripts read well
        yield line


def run(
    args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the chat with options parsed by a parser set up with :func:`build_parser`.

    For a CLI that nests ``chat`` as a subcommand: ``build_parser(sub.add_parser("chat"))``,
    then ``run(args)``. Returns 0 on ``:quit`` or end of input, 130 on Ctrl-C.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    # readline edits only the real terminal; a given stream (tests, pipes) is read as is
    terminal = stdin is sys.stdin and stdout is sys.stdout and stdin.isatty()
    history = getattr(args, "history", DEFAULT_HISTORY) if terminal else ""
    if terminal:
        _listen_to_ctrl_c()
    with channel_from_args(args) as channel, _readline_history(history):
        session = ChatSession(
            pb_grpc.RecommenderServiceStub(channel),
            stdout,
            user_id=args.user_id,
            limit=args.limit,
            timeout=args.timeout,
            stream=args.stream,
        )
        session.say(f"kgrec chat with {args.target} (:help for commands, :quit to leave)")
        lines: Callable[[], Iterator[str]] = (
            _terminal_lines if terminal else lambda: _piped_lines(stdin, stdout, stdin.isatty())
        )
        try:
            for line in lines():
                if not session.handle(line):
                    break
        except KeyboardInterrupt:  # at the prompt or during a call: leave now
            session.say()
            return 130
    return 0


__all__ = [
    "ChatSession",
    "build_parser",
    "main",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
