"""Dialogue state carried across the turns of one session.

The state is a small JSON document stored with the session in the graph store, so any server
replica can continue a conversation. It accumulates:

* hard constraints (price range, categories, brands, required / excluded attributes, excluded
  brands and items) that a new turn tightens, relaxes or replaces; the price range the
  shopper stated is kept apart from the bounds "cheaper" / "pricier" derived from the last
  picks (``cheaper_than`` / ``pricier_than``), so a reply never calls a derived number "your"
  budget; :meth:`DialogueState.price_range` joins them;
* soft wishes: a price level ("cheap" -> ``price_level="low"``, an order, not a bound) and
  who / what for ("audience=men", "occasion=gift", "use=swimming", "season=winter");
* the last ranking, so "the second one" resolves to an item;
* the item the conversation is currently about (``focus``), so "not that brand" resolves;
* liked / disliked items from feedback, each item's feedback weight (``item_feedback``, see
  :meth:`DialogueState.item_weights`), items dismissed when adaptation is off
  (``dismissed_item_ids``), and the entities linked so far;
* the shopper's recent messages, so a scorer reads the conversation's words, not only the
  last message's ("something scary" then "from the 80s");
* with a learning ranking policy (:mod:`models.feedback`), the signal rows of the items the
  last turn showed that have not been rewarded yet (``policy_rows``): a click rewards its row
  with 1, the next turn the rest with 0, each row once. Each entry is one string
  ``"<item id>\t<v1>,<v2>,..."``, so the list merges as a set under concurrent writers
  (:mod:`server.session_merge`): a click that takes its row out and a turn that replaces the
  rows both keep their change.

The size is capped: lists keep their newest ``MAX_ITEMS`` entries, the messages their newest
``MAX_MESSAGES`` within ``MAX_MESSAGE_CHARS`` characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kg.types import ProductRecord
from kgrec.domain import PriceRange

MAX_ITEMS = 200  # cap for every id list kept in the state
MAX_MESSAGES = 8  # recent messages kept for the scorer
MAX_MESSAGE_CHARS = 1000  # ... and their total length
STATE_VERSION = 1


def conversation_text(messages: Sequence[str]) -> str:
    """``messages`` (oldest first) as one text, newest first, one per line: the order a scorer
    reads a conversation in (an encoder that truncates drops the oldest)."""
    return "\n".join(reversed(messages))


@dataclass(slots=True)
class ShownItem:
    """One item of the last ranking, with what later turns need to refer to it."""

    item_id: str
    title: str
    price: float | None
    brand_id: str
    category_id: str

    @classmethod
    def of(cls, product: ProductRecord) -> ShownItem:
        return cls(product.id, product.title, product.price, product.brand_id, product.category_id)


@dataclass(slots=True)
class DialogueState:
    """Everything a session remembers between turns. Mutable; serialised with :meth:`to_json`."""

    turn: int = 0
    min_price: float | None = None  # as the shopper (or a filter) stated it
    max_price: float | None = None
    cheaper_than: float | None = None  # "cheaper": below the median of the picks shown then
    pricier_than: float | None = None  # "pricier": above it
    price_level: str = ""  # "low" | "high" | "": order by price within the candidates
    wishes: list[str] = field(default_factory=list)  # "kind=value" soft wishes, oldest first
    category_ids: list[str] = field(default_factory=list)
    brand_ids: list[str] = field(default_factory=list)
    required_attribute_ids: list[str] = field(default_factory=list)
    preferred_ids: list[str] = field(default_factory=list)
    exclude_brand_ids: list[str] = field(default_factory=list)
    exclude_attribute_ids: list[str] = field(default_factory=list)
    exclude_category_ids: list[str] = field(default_factory=list)
    exclude_item_ids: list[str] = field(default_factory=list)
    liked_item_ids: list[str] = field(default_factory=list)
    disliked_item_ids: list[str] = field(default_factory=list)
    # hidden without adapting anything else (a DISMISS with session adaptation off)
    dismissed_item_ids: list[str] = field(default_factory=list)
    # "<item id>=<weight>" entries, one per item, newest last (:meth:`item_weights`): strings,
    # so two concurrent writers' entries merge as a set (``server/session_merge.py``)
    item_feedback: list[str] = field(default_factory=list)
    shown_item_ids: list[str] = field(default_factory=list)
    last_ranking: list[ShownItem] = field(default_factory=list)
    focus: ShownItem | None = None
    linked_entity_ids: list[str] = field(default_factory=list)
    # the last turn's intent, as the parser needs it to read a follow-up ("cheaper")
    last_intent_type: str = ""
    last_mentions: list[dict[str, Any]] = field(default_factory=list)
    recent_messages: list[str] = field(default_factory=list)  # oldest first
    policy_rows: list[str] = field(default_factory=list)  # "<item id>\t<row>", see above

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self) -> str:
        """The state as ``asdict`` would give it (plus ``v``), built field by field: every
        turn and feedback writes it, and ``asdict`` deep-copies each list before dumping."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["last_ranking"] = [_fields(item) for item in self.last_ranking]
        data["focus"] = _fields(self.focus) if self.focus is not None else None
        data["v"] = STATE_VERSION
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> DialogueState:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        data.pop("v", None)
        ranking = [ShownItem(**row) for row in data.pop("last_ranking", [])]
        focus = data.pop("focus", None)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known, last_ranking=ranking, focus=ShownItem(**focus) if focus else None)

    # -- updates ------------------------------------------------------------------------------

    def reset_constraints(self) -> None:
        """Forget every constraint (the shopper said "start over"); feedback is kept."""
        self.min_price = self.max_price = None
        self.cheaper_than = self.pricier_than = None
        self.price_level = ""
        self.wishes.clear()
        for name in (
            "category_ids",
            "brand_ids",
            "required_attribute_ids",
            "preferred_ids",
            "exclude_brand_ids",
            "exclude_attribute_ids",
            "exclude_category_ids",
        ):
            getattr(self, name).clear()
        self.focus = None

    def price_range(self) -> PriceRange:
        """The bounds retrieval applies: the stated range, tightened by "cheaper" (a cent
        under ``cheaper_than``) and "pricier" (a cent over ``pricier_than``)."""
        lo, hi = self.min_price, self.max_price
        if self.cheaper_than is not None:
            cap = round(self.cheaper_than - 0.01, 2)
            hi = cap if hi is None else min(hi, cap)
        if self.pricier_than is not None:
            floor = round(self.pricier_than + 0.01, 2)
            lo = floor if lo is None else max(lo, floor)
        return PriceRange(lo, hi)

    def add(self, name: str, value: str) -> None:
        """Append ``value`` to the id list ``name`` once, keeping the newest ``MAX_ITEMS``."""
        values: list[str] = getattr(self, name)
        if value in values:
            return
        values.append(value)
        del values[:-MAX_ITEMS]

    def discard(self, name: str, value: str) -> None:
        values: list[str] = getattr(self, name)
        if value in values:
            values.remove(value)

    def set_item_weight(self, item_id: str, weight: float) -> None:
        """Record ``item_id``'s feedback weight, replacing the one it had."""
        prefix = f"{item_id}="
        self.item_feedback[:] = [e for e in self.item_feedback if not e.startswith(prefix)]
        self.item_feedback.append(f"{item_id}={weight:.6g}")
        del self.item_feedback[:-MAX_ITEMS]

    def item_weights(self) -> dict[str, float]:
        """``{item id: weight}`` of the session's feedback, in the order it was given; when two
        concurrent writes both weighed one item, the later entry stands."""
        out: dict[str, float] = {}
        for entry in self.item_feedback:
            item, _, weight = entry.rpartition("=")
            try:
                value = float(weight)
            except ValueError:
                continue  # a malformed entry (hand-edited state) is skipped, not fatal
            out.pop(item, None)
            out[item] = value
        return out

    def remember_intent(
        self, message: str, intent_type: str, mentions: list[dict[str, object]], clear: bool
    ) -> None:
        """The turn's message and what the parser made of it (the next turn's ``previous``);
        ``clear`` ("start over") forgets the earlier messages too."""
        if clear:
            self.recent_messages.clear()
        self.remember_message(message)
        self.last_intent_type = intent_type
        self.last_mentions = mentions

    def remember_message(self, text: str) -> None:
        """Keep ``text`` among the recent messages (blank ones are skipped): the newest
        ``MAX_MESSAGES``, dropping the oldest while they exceed ``MAX_MESSAGE_CHARS``
        (the newest is kept whole even when it alone is longer)."""
        text = text.strip()
        if not text:
            return
        self.recent_messages.append(text)
        del self.recent_messages[:-MAX_MESSAGES]
        while (
            len(self.recent_messages) > 1
            and sum(len(m) for m in self.recent_messages) > MAX_MESSAGE_CHARS
        ):
            del self.recent_messages[0]

    def conversation_text(self) -> str:
        """The recent messages, newest first (:func:`conversation_text`)."""
        return conversation_text(self.recent_messages)

    def remember_ranking(self, items: list[ShownItem]) -> None:
        self.last_ranking = items[:MAX_ITEMS]
        for item in items:
            self.add("shown_item_ids", item.item_id)

    def remember_policy_rows(
        self, item_ids: Sequence[str], rows: Sequence[Sequence[float]]
    ) -> None:
        """The signal rows of the items this turn shows (replacing the last turn's)."""
        self.policy_rows = [
            f"{item}\t{','.join(f'{v:.6g}' for v in row)}"
            for item, row in list(zip(item_ids, rows, strict=True))[:MAX_ITEMS]
        ]

    def take_policy_rows(self, item_id: str | None = None) -> list[list[float]]:
        """Remove and return the pending rows: ``item_id``'s only, or all of them."""
        taken, kept = [], []
        for entry in self.policy_rows:
            item, _, row = entry.rpartition("\t")
            if item_id is None or item == item_id:
                taken.append([float(v) for v in row.split(",")] if row else [])
            else:
                kept.append(entry)
        self.policy_rows = kept
        return taken

    def item_at(self, index: int) -> ShownItem | None:
        """The item at 0-based ``index`` of the last ranking; negative counts from the end."""
        if not self.last_ranking:
            return None
        try:
            return self.last_ranking[index]
        except IndexError:
            return None


def _fields(item: ShownItem) -> dict[str, Any]:
    return {name: getattr(item, name) for name in item.__dataclass_fields__}
