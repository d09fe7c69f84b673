"""``kgrec chat`` driven with a scripted stdin against a fake-pipeline server."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket

import pytest
from server_fakes import FakePipeline, serving

from kgrec import chat
from kgrec.domain import EventType
from kgrec.errors import GraphUnavailableError

SCRIPT = """red running shoes
:like 2
:rate 1 4
:rate 1 9
:like 7
:buy 1
:bogus

cheaper please
:new
something else
"""


def _run_chat(fake: FakePipeline, script: str, *extra: str) -> tuple[int, str]:
    async def scenario() -> tuple[int, str]:
        async with serving(fake) as served:
            out = io.StringIO()
            argv = ["--target", served.target, "--user-id", "user:7", "--timeout", "5", *extra]
            code = await asyncio.to_thread(chat.main, argv, stdin=io.StringIO(script), stdout=out)
            return code, out.getvalue()

    return asyncio.run(scenario())


def test_a_scripted_conversation() -> None:
    fake = FakePipeline()
    code, out = _run_chat(fake, SCRIPT)
    assert code == 0
    lines = out.splitlines()
    # the numbered list with title, price, brand, score; reasons with their KG path
    assert " 1. Acme Runner 1  ($50.00, Acme, score 1.000)" in lines
    assert " 3. Acme Runner 3  (price n/a, Acme, score 0.800)" in lines
    assert "      - matches the brand you asked for" in lines
    assert "        Acme -[BRAND_OF]-> Acme Trail Runner" in lines
    assert f"bot> {fake.reply}" in lines
    assert (
        "intent: recommend (confidence 0.80, fake); entities: Brand:Acme; constraints: price <= 100"
        in lines
    )
    # feedback went to the right items of the last list
    assert [(e.event_type, e.item_id, e.value) for e in fake.events] == [
        (EventType.LIKE, "product:2", 0.0),
        (EventType.RATING, "product:1", 4.0),
        (EventType.PURCHASE, "product:1", 0.0),
    ]
    assert {e.user_id for e in fake.events} == {"user:7"}
    assert all(e.session_id == "session:new" and e.idempotency_key for e in fake.events)
    assert all(e.client_ts > 0 for e in fake.events)
    # errors and mistakes are one line each, never a traceback
    assert any(
        line.startswith("error: INVALID_ARGUMENT: value: a rating must be in") for line in lines
    )
    assert "no item 7: the last list has items 1..3" in lines
    assert "unknown command ':bogus'; :help lists them" in lines
    assert "Traceback" not in out
    # the session id is kept across turns and dropped by :new
    assert [q.session_id for q in fake.queries] == ["", "session:new", ""]
    assert [q.message for q in fake.queries] == [
        "red running shoes",
        "cheaper please",
        "something else",
    ]
    assert {(q.user_id, q.limit, q.explain) for q in fake.queries} == {("user:7", 5, True)}


def test_streaming_mode_prints_the_same_answer() -> None:
    fake = FakePipeline()
    code, out = _run_chat(fake, "red running shoes\n:click 3\n:quit\nnever sent\n", "--stream")
    assert code == 0
    assert " 2. Acme Runner 2  ($60.00, Acme, score 0.900)" in out.splitlines()
    assert f"bot> {fake.reply}" in out.splitlines()
    assert [(e.event_type, e.item_id) for e in fake.events] == [(EventType.CLICK, "product:3")]
    assert len(fake.queries) == 1  # :quit ended the chat


def test_server_errors_are_one_line() -> None:
    code, out = _run_chat(FakePipeline(error=GraphUnavailableError("down")), "shoes\n:like 1\n")
    assert code == 0
    error_lines = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(error_lines) == 1
    assert error_lines[0].startswith("error: UNAVAILABLE: a backing service is unavailable")
    assert "no items yet: ask for something first" in out
    assert "Traceback" not in out


def test_unreachable_server_is_one_line() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = io.StringIO()
    argv = ["--target", f"127.0.0.1:{port}", "--timeout", "2"]
    assert chat.main(argv, stdin=io.StringIO("shoes\n"), stdout=out) == 0
    errors = [line for line in out.getvalue().splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: UNAVAILABLE")


@pytest.mark.parametrize("line", [":like", ":like x", ":rate 1", ":rate 1 good"])
def test_bad_command_arguments_print_usage(line: str) -> None:
    session = chat.ChatSession(stub=None, out=io.StringIO())  # type: ignore[arg-type]
    session.items = [chat.pb.RankedItem(item_id="p1", title="P")]
    assert session.handle(line)
    assert session.out.getvalue().startswith("usage: ")  # type: ignore[attr-defined]


def test_nested_under_a_cli_subcommand() -> None:
    cli = argparse.ArgumentParser(prog="kgrec")
    sub = cli.add_subparsers(dest="command", required=True)
    chat.build_parser(sub.add_parser("chat"))
    args = cli.parse_args(["chat", "--target", "h:1", "--user-id", "u", "--stream"])
    assert (args.target, args.user_id, args.stream, args.limit) == ("h:1", "u", True, 5)
    assert chat.main(["--limit"]) == 2  # usage error: a status, not an exception
