"""``kgrec chat``: talk to a running kgrec server from the terminal.

Type what you are looking for; the server answers with a numbered list of items (title,
price, brand, score), the reasons for each (with the knowledge-graph path as
``A -[REL]-> B``), a reply and one line saying how it read your message. The session id is
kept across turns, so "cheaper" or "not that brand" refine the last answer.

Commands act on the items of the last list::

    :like N   :dislike N   :click N   :cart N   :buy N   :dismiss N   :rate N 4
    :new      start a new session
    :help     this list
    :quit     leave (or end of input, Ctrl-D)

gRPC errors are printed as one line (status and details), never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from kgrec.client import add_connection_arguments, channel_from_args
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc

PROMPT = "you> "
HELP = """commands (N is an item number from the last list):
  :like N  :dislike N  :click N  :cart N  :buy N  :dismiss N  :rate N <0-5>
  :new  start a new session    :help  this text    :quit  leave"""

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
_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


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
    return parser


def format_price(item: pb.RankedItem) -> str:
    if not item.HasField("price"):
        return "price n/a"
    symbol = _CURRENCY_SYMBOLS.get(item.currency or "USD")
    return f"{symbol}{item.price:,.2f}" if symbol else f"{item.price:,.2f} {item.currency}"


def format_path(path: pb.KgPath) -> str:
    """``A -[REL]-> B -[REL]-> C`` with node names (ids when a node has no name)."""
    if not path.nodes:
        return ""
    parts = [path.nodes[0].name or path.nodes[0].id]
    for relation, node in zip(path.relations, path.nodes[1:], strict=False):
        parts.append(f"-[{relation}]-> {node.name or node.id}")
    return " ".join(parts)


def format_items(items: Sequence[pb.RankedItem]) -> list[str]:
    lines = []
    for n, item in enumerate(items, 1):
        details = [format_price(item)]
        if item.brand:
            details.append(item.brand)
        details.append(f"score {item.score:.3f}")
        lines.append(f"{n:>2}. {item.title}  ({', '.join(details)})")
        for reason in item.reasons:
            lines.append(f"      - {reason.text}")
            if reason.HasField("path") and reason.path.nodes:
                lines.append(f"        {format_path(reason.path)}")
    return lines


def format_intent(intent: pb.ParsedIntent) -> str:
    kind = pb.IntentType.Name(intent.type).removeprefix("INTENT_TYPE_").lower()
    text = f"intent: {kind} (confidence {intent.confidence:.2f}"
    text += f", {intent.backend})" if intent.backend else ")"
    if intent.entities:
        names = [
            f"{'not ' if e.negated else ''}{e.label}:{e.name or e.entity_id}"
            for e in intent.entities
        ]
        text += "; entities: " + ", ".join(names)
    if intent.constraints:
        text += "; constraints: " + ", ".join(
            f"{c.field} {c.op} {c.value}" for c in intent.constraints
        )
    return text


def format_error(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    name = code.name if isinstance(code, grpc.StatusCode) else "ERROR"
    return f"error: {name}: {details or 'no details'}"


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

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def handle(self, line: str) -> bool:
        """Act on one input line; False when the conversation should end."""
        line = line.strip()
        if not line:
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
        self.items = list(response.items)
        for text in format_items(response.items) or ["(no items)"]:
            self.say(text)
        self.say(f"bot> {response.reply}")
        self.say(format_intent(response.intent))

    def _recommend_stream(self, message: str) -> None:
        items: list[pb.RankedItem] = []
        reply_started = False
        try:
            for chunk in self.stub.RecommendStream(self._request(message), timeout=self.timeout):
                self.session_id = chunk.session_id or self.session_id
                kind = chunk.WhichOneof("payload")
                if kind == "item":
                    items.append(chunk.item)
                elif kind == "reply_text":
                    if not reply_started:
                        for text in format_items(items) or ["(no items)"]:
                            self.say(text)
                        self.out.write("bot> ")
                        reply_started = True
                    self.out.write(chunk.reply_text)
                    self.out.flush()
                elif kind == "end":
                    if not reply_started:
                        for text in format_items(items) or ["(no items)"]:
                            self.say(text)
                        self.out.write("bot> ")
                    self.say()
                    self.say(format_intent(chunk.end.intent))
        except grpc.RpcError as e:
            if reply_started:
                self.say()
            self.say(format_error(e))
        self.items = items

    def feedback(self, command: str, args: list[str]) -> None:
        event_type = FEEDBACK_COMMANDS[command]
        want = 2 if event_type == pb.EVENT_TYPE_RATING else 1
        usage = f"usage: {command} N" + (" RATING" if want == 2 else "")
        if len(args) != want or not args[0].isdigit():
            self.say(usage)
            return
        if not self.items:
            self.say("no items yet: ask for something first")
            return
        n = int(args[0])
        if not 1 <= n <= len(self.items):
            self.say(f"no item {n}: the last list has items 1..{len(self.items)}")
            return
        value = 0.0
        if want == 2:
            try:
                value = float(args[1])
            except ValueError:
                self.say(usage)
                return
        item = self.items[n - 1]
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


def run(
    args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO | None = None
) -> int:
    """Run the chat with options parsed by a parser set up with :func:`build_parser`.

    For a CLI that nests ``chat`` as a subcommand: ``build_parser(sub.add_parser("chat"))``,
    then ``run(args)``.
    """
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    with channel_from_args(args) as channel:
        session = ChatSession(
            pb_grpc.RecommenderServiceStub(channel),
            stdout,
            user_id=args.user_id,
            limit=args.limit,
            timeout=args.timeout,
            stream=args.stream,
        )
        session.say(f"kgrec chat with {args.target} (:help for commands, :quit to leave)")
        try:
            while True:
                if interactive:
                    stdout.write(PROMPT)
                    stdout.flush()
                line = stdin.readline()
                if not line:  # end of input
                    if interactive:
                        session.say()
                    return 0
                if not interactive and line.strip():
                    session.say(f"{PROMPT}{line.rstrip()}")  # echo so transcripts read well
                if not session.handle(line):
                    return 0
        except KeyboardInterrupt:
            session.say()
            return 130


__all__ = [
    "ChatSession",
    "build_parser",
    "format_intent",
    "format_items",
    "format_path",
    "main",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
