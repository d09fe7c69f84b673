"""How ``kgrec chat`` prints an answer: items, prices, KG paths, reasons, the intent, errors.

Pure functions of the ``kgrec.v1`` messages (no I/O), so the terminal loop in
:mod:`kgrec.chat` stays about the conversation and these stay testable one by one. Also
:class:`ReplyFilter`, which drops the reply sentences that only repeat the item list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import grpc

from kgrec.v1 import recommender_pb2 as pb

#: Node names longer than this are cut (with "…") in the item list; ``:why`` shows them whole.
SHORT_NAME = 32

_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_price(item: pb.RankedItem) -> str:
    if not item.HasField("price"):
        return "price n/a"
    symbol = _CURRENCY_SYMBOLS.get(item.currency or "USD")
    return f"{symbol}{item.price:,.2f}" if symbol else f"{item.price:,.2f} {item.currency}"


def _shorten(text: str, width: int | None) -> str:
    if width is None or len(text) <= width:
        return text
    return text[: width - 1].rstrip(" -—:,") + "…"


def format_path(path: pb.KgPath, *, width: int | None = None, labels: bool = False) -> str:
    """The path with each edge drawn the way it points: ``A -[REL]-> B`` or ``A <-[REL]- B``.

    The server sends paths from the query side to the item and says per edge which way it
    points (``KgPath.forward``). The drawing starts at whichever end makes more arrows point
    forwards, the item on a tie: ``Saucony Ride -[IN_CATEGORY]-> Running shoes`` rather than
    ``Running shoes <-[IN_CATEGORY]- Saucony Ride``. Without directions (an older server)
    edges are drawn undirected, ``A -[REL]- B``, from the query side. Node names are cut to
    ``width`` characters when given; ``labels`` adds each node's label, ``Nike (Brand)``.
    """
    nodes = list(path.nodes)
    if not nodes:
        return ""
    relations = list(path.relations)
    known = len(path.forward) == len(relations)
    forward = list(path.forward) if known else [True] * len(relations)
    if known and 2 * sum(forward) <= len(forward):  # more arrows point back at the query side
        nodes.reverse()
        relations.reverse()
        forward = [not f for f in reversed(forward)]

    def name(node: pb.PathNode) -> str:
        text = _shorten(node.name or node.id, width)
        return f"{text} ({node.label})" if labels and node.label else text

    parts = [name(nodes[0])]
    for relation, points_on, node in zip(relations, forward, nodes[1:], strict=False):
        if not known:
            parts.append(f"-[{relation}]- {name(node)}")
        elif points_on:
            parts.append(f"-[{relation}]-> {name(node)}")
        else:
            parts.append(f"<-[{relation}]- {name(node)}")
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
                lines.append(f"        {format_path(reason.path, width=SHORT_NAME)}")
    return lines


def format_why(n: int, item: pb.RankedItem) -> list[str]:
    """``:why N``: item N's every reason with its kind and its full path (names and labels)."""
    lines = [f"why {n}. {item.title} ({item.item_id})"]
    if not item.reasons:
        lines.append("      (the server gave no reasons for this item)")
    for reason in item.reasons:
        kind = f"  [{reason.kind}]" if reason.kind else ""
        lines.append(f"      - {reason.text}{kind}")
        if reason.HasField("path") and reason.path.nodes:
            lines.append(f"        {format_path(reason.path, labels=True)}")
    return lines


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class ReplyFilter:
    """Drops the sentences of a reply that name a listed item, as the reply arrives.

    :meth:`feed` takes the next piece of text and returns what can be printed now: the
    sentences that are complete and mention none of ``items`` (a sentence is decided once the
    text runs a title's length past it, so a title with a full stop in it, "Dr. Martens", is
    still seen whole). :meth:`finish` returns the rest; when every sentence named an item the
    whole reply is kept, since it then says nothing else.
    """

    def __init__(self, items: Sequence[pb.RankedItem]) -> None:
        self.titles = [item.title for item in items if item.title]
        self.reach = max((len(t) for t in self.titles), default=0)
        self.text = ""
        self.decided = 0  # text[:decided] is printed or dropped
        self.printed = False

    def feed(self, piece: str) -> str:
        self.text += piece
        return self._release(final=False)

    def finish(self) -> str:
        out = self._release(final=True)
        if not self.printed and self.text.strip():
            self.printed = True
            return self.text.strip()
        return out

    def _release(self, *, final: bool) -> str:
        spans = [
            (m.start(), m.end())
            for title in self.titles
            for m in re.finditer(re.escape(title), self.text)
        ]
        ends = [m.start() for m in _SENTENCE_END.finditer(self.text, self.decided)]
        if final:
            ends.append(len(self.text))
        out: list[str] = []
        for end in ends:
            if not final and end + self.reach > len(self.text):
                break  # a title may still be arriving across this sentence end
            start, self.decided = self.decided, end
            sentence = self.text[start:end].strip()
            if sentence and not any(a < end and b > start for a, b in spans):
                out.append(("" if not self.printed and not out else " ") + sentence)
        if out:
            self.printed = True
        return "".join(out)


def concise_reply(reply: str, items: Sequence[pb.RankedItem]) -> str:
    """The reply without the sentences that name a listed item: the list above already shows
    each item with its reasons. A reply made only of such sentences is kept whole."""
    concise = ReplyFilter(items)
    return concise.feed(reply) + concise.finish()


def _name_of(node_id: str, names: dict[str, str]) -> str:
    """A display name for a KG id: the name the server sent for it, else the id made
    readable (``cat:running-shoes`` -> ``running shoes``, ``attr:color=red`` -> ``red``)."""
    if node_id in names:
        return names[node_id]
    text = node_id.split(":", 1)[-1]
    text = text.split("=", 1)[-1]
    return text.replace("-", " ").replace("_", " ") or node_id


def _constraint_value(constraint: pb.Constraint, names: dict[str, str]) -> str:
    if constraint.field == "price":
        return constraint.value
    values = [v.strip() for v in constraint.value.split(",")] if constraint.op == "in" else []
    if values:
        return ", ".join(_name_of(v, names) for v in values)
    return _name_of(constraint.value, names)


def format_intent(intent: pb.ParsedIntent, names: dict[str, str] | None = None) -> str:
    """One line: the intent, the linked entities and the constraints, with names, not ids.

    ``names`` maps KG ids to names the chat has seen (entities, items, path nodes), so a
    constraint carried over from an earlier turn still reads ``brand != Nike``.
    """
    names = dict(names or {})
    names.update((e.entity_id, e.name) for e in intent.entities if e.name)
    kind = pb.IntentType.Name(intent.type).removeprefix("INTENT_TYPE_").lower()
    text = f"intent: {kind} (confidence {intent.confidence:.2f}"
    text += f", {intent.backend})" if intent.backend else ")"
    if intent.entities:
        shown = [
            f"{'not ' if e.negated else ''}{e.label}:{e.name or _name_of(e.entity_id, names)}"
            for e in intent.entities
        ]
        text += "; entities: " + ", ".join(shown)
    if intent.constraints:
        text += "; constraints: " + ", ".join(
            f"{c.field} {c.op} {_constraint_value(c, names)}" for c in intent.constraints
        )
    return text


def format_error(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    name = code.name if isinstance(code, grpc.StatusCode) else "ERROR"
    return f"error: {name}: {details or 'no details'}"
