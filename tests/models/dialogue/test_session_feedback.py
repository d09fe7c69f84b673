"""Session feedback rules: weights in proportion (ratings), the "off" baseline, near-duplicate
product lines, and concurrent feedback writes merging without loss."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kg.types import ProductRecord
from kgrec.domain import EventType, LinkedEntity
from models.dialogue import DialogueState, ShownItem, apply_feedback, candidate_query
from models.dialogue.adaptation import near_duplicate_ids, product_line, same_product_line
from models.dialogue.session_rules import passed_over
from server.session_merge import merge_states


def _product(pid: str, title: str, brand: str = "Nike", category: str = "cat:run") -> ProductRecord:
    return ProductRecord(
        pid, title, brand_id=f"brand:{brand.lower()}", brand=brand, category_id=category
    )


def test_a_rating_weighs_in_proportion_to_its_value() -> None:
    state = DialogueState()
    for n, rating in enumerate((1.0, 2.0, 3.0, 4.0, 5.0)):
        apply_feedback(state, EventType.RATING, rating, f"p{n}")
    assert state.item_weights() == {"p0": -1.0, "p1": -0.5, "p2": 0.0, "p3": 0.5, "p4": 1.0}
    assert state.liked_item_ids == ["p3", "p4"] and state.disliked_item_ids == ["p0", "p1"]
    apply_feedback(state, EventType.RATING, 3.0, "p4")  # a later middling rating: neutral
    assert state.item_weights()["p4"] == 0.0 and "p4" not in state.liked_item_ids
    apply_feedback(state, EventType.IMPRESSION, 0.0, "p9")
    assert "p9" not in state.item_weights()


def test_with_adaptation_off_only_a_dismiss_hides_its_item() -> None:
    state = DialogueState()
    for kind in (EventType.LIKE, EventType.PURCHASE, EventType.DISLIKE, EventType.RATING):
        apply_feedback(state, kind, 1.0, f"{kind}", adapt=False)
    assert state == DialogueState()
    apply_feedback(state, EventType.DISMISS, 0.0, "gone", adapt=False)
    assert state.dismissed_item_ids == ["gone"] and not state.disliked_item_ids
    assert candidate_query(state, 10).exclude_item_ids == ("gone",)


def test_product_lines_and_near_duplicates() -> None:
    a = _product("a", "Nike Pegasus 3: red mesh running shoes")
    b = _product("b", "Blue Nike Pegasus Pro running shoes")
    c = _product("c", "Nike Pegasus Trail — grey mesh trail running shoes")
    d = _product("d", "Nike Vomero running shoes in red")
    e = _product("e", "Nike Pegasus running shoes", category="cat:walk")
    assert [product_line(p) for p in (a, b, c, d)] == [
        "pegasus",
        "pegasus",
        "pegasus trail",
        "vomero",
    ]
    assert same_product_line(a, b) and not same_product_line(a, c) and not same_product_line(a, e)
    assert product_line(_product("x", "A shoe", brand="")) == ""
    assert near_duplicate_ids([a], [a, b, c, d, e]) == {"b"}
    assert near_duplicate_ids([a], [a, b, c, d, e], similar_ids={"d"}) == {"b", "d"}


def test_concurrent_feedback_writes_merge_without_loss() -> None:
    base = DialogueState()
    apply_feedback(base, EventType.LIKE, 0.0, "p1")
    mine, theirs = DialogueState.from_json(base.to_json()), DialogueState.from_json(base.to_json())
    apply_feedback(mine, EventType.RATING, 1.0, "p1")  # replaces p1's weight
    apply_feedback(theirs, EventType.PURCHASE, 0.0, "p2")
    merged = DialogueState.from_json(merge_states(base.to_json(), mine.to_json(), theirs.to_json()))
    assert merged.item_weights() == {"p2": 1.0, "p1": -1.0}
    assert merged.disliked_item_ids == ["p1"] and merged.liked_item_ids == ["p2"]


def test_shown_items_are_passed_over_only_when_the_turn_tells_nothing_new() -> None:
    """ "Show me more" or a critique demotes what the session showed and the shopper did not
    choose; a turn naming a product or entity, or referring to items, is answered on its
    merits (issue 13: after a few 50-item turns nearly every good item was "shown", and the
    served ReDial replay lost a fifth of its hits to that penalty)."""
    state = DialogueState()
    state.remember_ranking([ShownItem(f"p{i}", f"Item {i}", None, "", "") for i in range(3)])
    state.add("liked_item_ids", "p1")
    named = LinkedEntity("Heat", "m:heat", "Product", "Heat", 1.0)
    genre = LinkedEntity("horror", "dbr:Horror", "Entity", "Horror", 1.0)
    assert passed_over(state, [], ()) == {"p0", "p2"}
    assert passed_over(state, [replace(genre, negated=True)], ()) == {"p0", "p2"}  # a critique
    assert passed_over(state, [named], ()) == set()
    assert passed_over(state, [genre], ()) == set()
    assert passed_over(state, [], ("m:heat",)) == set()


@pytest.mark.parametrize(
    ("message", "critique", "demoted"),
    [
        ("show me more", False, True),
        ("what else do you have?", False, True),
        ("I have seen that one, anything different?", False, True),
        ("Thanks! That sounds great", False, True),  # no taste words: nothing new
        ("", False, True),
        ("I love a good twist", False, False),  # a taste in words: ranked on it
        ("something scary with ghosts please", False, False),
        ("something scary, but another one", False, True),  # asks for others too
        ("cheaper please", True, True),  # a price critique (the parser's intent.price)
    ],
)
def test_a_taste_in_words_is_new_evidence_unless_it_asks_for_others(
    message: str, critique: bool, demoted: bool
) -> None:
    """A turn that says what the shopper likes in words, with no linked item, is answered on
    its merits too; "more", "else", "seen it" and critiques keep the shown items demoted."""
    state = DialogueState()
    state.remember_ranking([ShownItem(f"p{i}", f"Item {i}", None, "", "") for i in range(2)])
    got = passed_over(state, [], (), message, critique=critique)
    assert got == ({"p0", "p1"} if demoted else set())
    genre = LinkedEntity("horror", "dbr:Horror", "Entity", "Horror", 1.0, negated=True)
    assert passed_over(state, [genre], (), "not horror, I love a good twist") == {"p0", "p1"}
