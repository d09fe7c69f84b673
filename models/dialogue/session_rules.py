"""What a session's state makes of feedback, and how its constraints are echoed back.

Feedback, with session adaptation on (``adapt=True``, the default): a positive event
(:func:`kgrec.domain.is_positive`) likes the item for the rest of the session, a negative one
(:func:`kgrec.domain.is_negative`) dislikes it, so the next turn hides it (and its
near-duplicates, :mod:`models.dialogue.adaptation`) and penalises its brand; every event also
records the item's signed weight (:func:`kgrec.domain.feedback_weight`: a rating in
proportion to its value), which the scorer turns into a pull towards (or a push away from) the
item's neighbours. An impression changes nothing.

With adaptation off (``adapt=False``), the "no adaptation" baseline: feedback is stored but
changes nothing in later turns, except that a DISMISS still hides that one item (a dismissal
is the shopper closing a card, an instruction rather than a preference to learn from; no
brand penalty, no near-duplicates, no pull).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from kg.types import CandidateQuery
from kgrec.domain import (
    Constraint,
    EventType,
    LinkedEntity,
    feedback_weight,
    is_negative,
    is_positive,
)

from .dialogue_state import DialogueState

__all__ = [
    "ASKS_FOR_UNSEEN",
    "apply_feedback",
    "candidate_query",
    "close_query",
    "echo_constraints",
    "passed_over",
]


def candidate_query(state: DialogueState, limit: int) -> CandidateQuery:
    """The graph's candidates for ``state``: its hard constraints, preferences, exclusions."""
    return CandidateQuery(
        price=state.price_range(),
        category_ids=tuple(state.category_ids),
        brand_ids=tuple(state.brand_ids),
        required_attribute_ids=tuple(state.required_attribute_ids),
        preferred_ids=tuple(state.preferred_ids),
        exclude_brand_ids=tuple(state.exclude_brand_ids),
        exclude_category_ids=tuple(state.exclude_category_ids),
        exclude_attribute_ids=tuple(state.exclude_attribute_ids),
        exclude_item_ids=tuple(
            dict.fromkeys(
                state.exclude_item_ids + state.disliked_item_ids + state.dismissed_item_ids
            )
        ),
        limit=limit,
    )


def close_query(query: CandidateQuery) -> CandidateQuery | None:
    """The query for close matches, when ``query``'s brands and required attributes ("pink",
    "from Wilson") leave too few products: those become preferences (a product matching
    some of them ranks above one matching none); the category, the price and every
    exclusion ("not Nike") stay hard, since a shopper who said them ruled the rest out.
    ``None`` when nothing would be relaxed."""
    relaxed = (*query.brand_ids, *query.required_attribute_ids)
    if not relaxed:
        return None
    return replace(
        query,
        brand_ids=(),
        required_attribute_ids=(),
        preferred_ids=tuple(dict.fromkeys((*query.preferred_ids, *relaxed))),
    )


#: Words with which a turn asks for what the session has not shown yet, or says that what it
#: showed is known already: "show me more", "what else", "another one", "seen it".
ASKS_FOR_UNSEEN = frozenset(
    re.findall(
        r"\w+",
        """more else other others another different instead besides alternative alternatives
        options next seen saw watched already""",
    )
)
#: Chat words that carry no taste (beside the scorer's stop words): "sounds great, thanks".
NO_TASTE = frozenset(
    re.findall(
        r"\w+",
        """sounds sound awesome cool nice perfect interesting definitely check heard try please
        recommend recommendation recommendations suggest suggestion suggestions show give
        looking look want need""",
    )
)
_TOKEN = re.compile(r"[a-z']+")


def passed_over(
    state: DialogueState,
    linked: Sequence[LinkedEntity],
    context_item_ids: Sequence[str],
    message: str = "",
    *,
    critique: bool = False,
) -> set[str]:
    """The items this turn's ranking demotes as shown earlier in the session and not chosen
    (the blend's ``shown`` penalty): "show me more", "something else", "seen it", a critique
    ("cheaper", "not that brand": ``critique``, or a negated entity) or "more like the
    second one" should bring what the shopper has not seen yet. None when the turn tells
    something new about what the shopper wants — a product or entity named in the message
    (not negated), items the request says the message refers to (``context_item_ids``), or
    a taste in words the scorer reads ("I love a good twist": content words, see
    :func:`models.scoring.comention_counts.words`) that neither asks for something else
    (:data:`ASKS_FOR_UNSEEN`) nor critiques: that turn's ranking answers the new evidence,
    and an item that now fits it best is not buried under worse ones because an earlier
    list, asked with less to go on, happened to hold it too (every turn returns ``limit``
    items, so after a few turns nearly every good item was "shown")."""
    if context_item_ids or any(not e.negated for e in linked):
        return set()
    if message and not critique and not any(e.negated for e in linked):
        from models.scoring.comention_counts import words

        asks = ASKS_FOR_UNSEEN.intersection(_TOKEN.findall(message.lower()))
        if not asks and set(words(message)) - NO_TASTE:
            return set()
    return set(state.shown_item_ids) - set(state.liked_item_ids)


def apply_feedback(
    state: DialogueState,
    event_type: EventType | str,
    value: float,
    item_id: str,
    *,
    adapt: bool = True,
) -> None:
    """Fold one feedback event into ``state`` (the rules in the module docstring)."""
    if not adapt:
        if event_type == EventType.DISMISS:
            state.add("dismissed_item_ids", item_id)
        return
    if event_type == EventType.IMPRESSION:
        return
    state.set_item_weight(item_id, feedback_weight(event_type, value))
    if is_negative(event_type, value):
        state.add("disliked_item_ids", item_id)
        state.discard("liked_item_ids", item_id)
    elif is_positive(event_type, value):
        state.add("liked_item_ids", item_id)
        state.discard("disliked_item_ids", item_id)
    elif event_type == EventType.RATING:  # a middling rating: neither liked nor disliked now
        state.discard("liked_item_ids", item_id)
        state.discard("disliked_item_ids", item_id)


def echo_constraints(state: DialogueState) -> tuple[Constraint, ...]:
    """The hard constraints in force, as the response's parsed-intent echo states them."""
    out: list[Constraint] = []
    price = state.price_range()
    if price.min is not None:
        out.append(Constraint("price", ">=", f"{price.min:g}"))
    if price.max is not None:
        out.append(Constraint("price", "<=", f"{price.max:g}"))
    out += [Constraint("category", "==", i) for i in state.category_ids]
    out += [Constraint("brand", "==", i) for i in state.brand_ids]
    out += [Constraint("attribute", "==", i) for i in state.required_attribute_ids]
    out += [Constraint("category", "!=", i) for i in state.exclude_category_ids]
    out += [Constraint("brand", "!=", i) for i in state.exclude_brand_ids]
    out += [Constraint("attribute", "!=", i) for i in state.exclude_attribute_ids]
    out += [Constraint("item", "!=", i) for i in state.exclude_item_ids]
    return tuple(out)
