"""``kgrec chat`` driven with a scripted stdin against a fake-pipeline server."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket

import pytest
from server_fakes import FakePipeline, serving

from kgrec import chat, chat_format
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
    # drawn the way the edge points: (Product)-[:HAS_BRAND]->(Brand), walked backwards
    assert "        Acme Trail Runner -[HAS_BRAND]-> Acme" in lines
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


def test_streaming_mode_prints_a_concise_reply() -> None:
    fake = FakePipeline(reply="I found 3 Acme runners. Best match: Acme Runner 1, in Shoes.")
    code, out = _run_chat(fake, "red running shoes\n", "--stream")
    assert code == 0
    assert "bot> I found 3 Acme runners." in out.splitlines()


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


def _path(*steps: str | tuple[str, bool]) -> chat.pb.KgPath:
    """``_path("red", ("HAS_ATTRIBUTE", False), "shoe")``: nodes, and between them each
    relation with whether its edge points forwards (from the node before to the one after)."""
    names = [s for s in steps if isinstance(s, str)]
    rels = [s for s in steps if isinstance(s, tuple)]
    return chat.pb.KgPath(
        nodes=[chat.pb.PathNode(id=f"id:{i}", label="L", name=n) for i, n in enumerate(names)],
        relations=[r for r, _ in rels],
        forward=[f for _, f in rels],
    )


def test_paths_are_drawn_the_way_their_edges_point() -> None:
    # (Product)-[:IN_CATEGORY]->(Category) found from the category: drawn from the item
    one_hop = _path("Running shoes", ("IN_CATEGORY", False), "Saucony Ride")
    assert chat_format.format_path(one_hop) == "Saucony Ride -[IN_CATEGORY]-> Running shoes"
    # a user who bought a shoe of the same brand: most arrows point away from the user
    liked = _path(
        "you", ("INTERACTED", True), "Air Max", ("HAS_BRAND", True), "Nike",
        ("HAS_BRAND", False), "Pegasus",
    )  # fmt: skip
    assert chat_format.format_path(liked) == (
        "you -[INTERACTED]-> Air Max -[HAS_BRAND]-> Nike <-[HAS_BRAND]- Pegasus"
    )
    # a tie starts at the item
    shared = _path("Air Max", ("HAS_BRAND", True), "Nike", ("HAS_BRAND", False), "Pegasus")
    assert chat_format.format_path(shared) == "Pegasus -[HAS_BRAND]-> Nike <-[HAS_BRAND]- Air Max"
    # a server that does not send directions: undirected, from the query side
    undirected = chat.pb.KgPath(nodes=one_hop.nodes, relations=one_hop.relations)
    assert chat_format.format_path(undirected) == "Running shoes -[IN_CATEGORY]- Saucony Ride"


def test_long_names_are_cut_in_the_list_and_whole_with_labels_in_why() -> None:
    path = _path("red", ("HAS_ATTRIBUTE", False), "Skechers Go Run Lite — red mesh running shoes")
    assert chat_format.format_path(path, width=21) == "Skechers Go Run Lite… -[HAS_ATTRIBUTE]-> red"
    item = chat.pb.RankedItem(
        item_id="prod:1",
        title="Skechers Go Run Lite — red mesh running shoes",
        reasons=[
            chat.pb.Reason(text="red", kind="match", path=path),
            chat.pb.Reason(text="$54.99, under your $100.00", kind="constraint"),
        ],
    )
    assert chat_format.format_why(2, item) == [
        "why 2. Skechers Go Run Lite — red mesh running shoes (prod:1)",
        "      - red  [match]",
        "        Skechers Go Run Lite — red mesh running shoes (L) -[HAS_ATTRIBUTE]-> red (L)",
        "      - $54.99, under your $100.00  [constraint]",
    ]


def test_the_reply_drops_sentences_that_repeat_the_list() -> None:
    items = [chat.pb.RankedItem(title=t) for t in ("Dr. Martens 1460", "Acme Boot")]
    reply = (
        "I found 2 boots under $100.00, leaving out Nike. Best match: Dr. Martens 1460 — in "
        "Boots; black; $89.99, under your $100.00. Acme Boot — in Boots. Want them cheaper?"
    )
    assert chat_format.concise_reply(reply, items) == (
        "I found 2 boots under $100.00, leaving out Nike. Want them cheaper?"
    )
    # nothing else left
    assert chat_format.concise_reply("Try Acme Boot.", items) == "Try Acme Boot."
    assert chat_format.concise_reply("Nothing matched. Relax a constraint?", items) == (
        "Nothing matched. Relax a constraint?"
    )


def test_a_streamed_reply_is_cut_the_same_way_as_it_arrives() -> None:
    items = [chat.pb.RankedItem(title=t) for t in ("Dr. Martens 1460", "Acme Boot")]
    reply = (
        "I found 2 boots under $100.00. Best match: Dr. Martens 1460 — in Boots. "
        "Acme Boot — in Boots. Want them cheaper?"
    )
    for size in (1, 3, 7, len(reply)):  # chunks of any size, titles split across them
        concise = chat_format.ReplyFilter(items)
        pieces = [concise.feed(reply[i : i + size]) for i in range(0, len(reply), size)]
        assert "".join(pieces) + concise.finish() == (
            "I found 2 boots under $100.00. Want them cheaper?"
        )
    concise = chat_format.ReplyFilter(items)
    assert concise.feed("I found 2 boots under $100.00. Best match: ") == ""  # not yet decided
    assert concise.feed("Acme Boot — in Boots. " + "x" * 20).startswith("I found 2 boots")


def test_the_intent_line_names_what_it_constrains() -> None:
    intent = chat.pb.ParsedIntent(
        type=chat.pb.INTENT_TYPE_REFINE,
        confidence=1.0,
        backend="embedded",
        entities=[chat.pb.LinkedEntity(entity_id="attr:color=red", label="Attribute", name="red")],
        constraints=[
            chat.pb.Constraint(field="price", op="<=", value="69.98"),
            chat.pb.Constraint(field="category", op="==", value="cat:running-shoes"),
            chat.pb.Constraint(field="attribute", op="==", value="attr:color=red"),
            chat.pb.Constraint(field="brand", op="!=", value="brand:nike"),
            chat.pb.Constraint(field="item", op="!=", value="prod:000253"),
        ],
    )
    names = {"brand:nike": "Nike", "prod:000253": "Skechers Go Run"}
    line = chat_format.format_intent(intent, names)
    assert line == (
        "intent: refine (confidence 1.00, embedded); entities: Attribute:red; constraints: "
        "price <= 69.98, category == running shoes, attribute == red, brand != Nike, "
        "item != Skechers Go Run"
    )


def test_why_and_control_characters() -> None:
    fake = FakePipeline()
    code, out = _run_chat(fake, "shoes\n:why 2\n:why 9\n:why\n\x1b[A\n")
    assert code == 0
    lines = out.splitlines()
    assert "why 2. Acme Runner 2 (product:2)" in lines
    assert "      - matches the brand you asked for  [match]" in lines
    assert "        Acme Trail Runner (Product) -[HAS_BRAND]-> Acme (Brand)" in lines
    assert "no item 9: the last list has items 1..3" in lines
    assert "usage: :why N" in lines
    assert "not sent: the line has terminal control characters (an arrow key?)" in lines
    assert [q.message for q in fake.queries] == ["shoes"]  # the escape sequence never went out


def test_a_later_turn_names_what_an_earlier_one_linked() -> None:
    session = chat.ChatSession(stub=None, out=io.StringIO())  # type: ignore[arg-type]
    nike = chat.pb.LinkedEntity(entity_id="brand:nike", label="Brand", name="Nike", negated=True)
    session._say_intent(chat.pb.ParsedIntent(entities=[nike]))
    not_nike = chat.pb.Constraint(field="brand", op="!=", value="brand:nike")
    session._say_intent(chat.pb.ParsedIntent(constraints=[not_nike]))  # "cheaper": no entities
    last = session.out.getvalue().splitlines()[-1]  # type: ignore[attr-defined]
    assert last.endswith("; constraints: brand != Nike")
