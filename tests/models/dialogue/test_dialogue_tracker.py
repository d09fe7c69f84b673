"""Rules of the dialogue tracker, one per test, on hand-made turns."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from kgrec.domain import Filters, IntentType, LinkedEntity, PriceRange
from models.dialogue import DialogueState, DialogueTracker, ShownItem
from models.dialogue.dialogue_state import STATE_VERSION


@dataclass(frozen=True)
class _Price:
    min: float | None = None
    max: float | None = None
    currency: str | None = None
    relative: str | None = None
    level: str | None = None


@dataclass(frozen=True)
class _Ref:
    kind: str
    index: int | None = None
    negated: bool = False


@dataclass(frozen=True)
class _Intent:
    """The attributes of ``models.intent.Intent`` the tracker reads."""

    type: IntentType = IntentType.RECOMMEND
    price: _Price | None = None
    references: tuple[_Ref, ...] = ()
    clear_constraints: bool = False
    mentions: tuple = field(default_factory=tuple)


def ent(eid: str, label: str, negated: bool = False) -> LinkedEntity:
    return LinkedEntity(eid, eid, label, eid, 1.0, negated)


RANKING = [
    ShownItem("p1", "One", 80.0, "brand:asics", "cat:running-shoes"),
    ShownItem("p2", "Two", 60.0, "brand:brooks", "cat:running-shoes"),
    ShownItem("p3", "Three", 40.0, "brand:puma", "cat:running-shoes"),
]


def test_first_turn_sets_hard_constraints_and_exclusions():
    state = DialogueState()
    linked = [
        ent("cat:running-shoes", "Category"),
        ent("attr:color=red", "Attribute"),
        ent("brand:nike", "Brand", negated=True),
    ]
    DialogueTracker().update(state, _Intent(price=_Price(max=100)), linked, Filters())
    assert state.category_ids == ["cat:running-shoes"]
    assert state.required_attribute_ids == ["attr:color=red"]
    assert state.exclude_brand_ids == ["brand:nike"]
    assert state.max_price == 100 and state.min_price is None
    assert state.turn == 1


def test_new_value_of_an_attribute_replaces_the_old_one():
    state = DialogueState(required_attribute_ids=["attr:color=red", "attr:material=mesh"])
    DialogueTracker().update(state, _Intent(), [ent("attr:color=blue", "Attribute")], Filters())
    assert state.required_attribute_ids == ["attr:material=mesh", "attr:color=blue"]


def test_cheaper_caps_price_below_median_of_last_ranking():
    state = DialogueState(max_price=100.0)
    state.remember_ranking(RANKING)
    update = DialogueTracker().update(
        state, _Intent(price=_Price(relative="cheaper")), [], Filters()
    )
    assert update.cheaper_than == state.cheaper_than == 60.0
    assert state.price_range().max == 59.99
    assert state.max_price == 100.0  # the stated budget stays what the shopper said


def test_similar_reference_anchors_on_that_item_and_excludes_it():
    state = DialogueState()
    state.remember_ranking(RANKING)
    update = DialogueTracker().update(
        state, _Intent(references=(_Ref("similar", 1),)), [], Filters()
    )
    assert update.anchor is not None and update.anchor.item_id == "p2"
    assert state.focus == RANKING[1]
    assert "p2" in state.exclude_item_ids
    assert state.category_ids == ["cat:running-shoes"]
    assert "brand:brooks" in state.preferred_ids


def test_not_that_brand_excludes_the_focused_items_brand():
    state = DialogueState(focus=RANKING[1], preferred_ids=["brand:brooks"])
    DialogueTracker().update(
        state, _Intent(references=(_Ref("that_brand", negated=True),)), [], Filters()
    )
    assert state.exclude_brand_ids == ["brand:brooks"]
    assert "brand:brooks" not in state.preferred_ids


def test_unresolvable_reference_is_reported_not_guessed():
    state = DialogueState()
    update = DialogueTracker().update(
        state, _Intent(references=(_Ref("ordinal", 5),)), [], Filters()
    )
    assert update.unresolved_references == ["ordinal"]
    assert state.focus is None


def test_new_category_starts_a_new_topic():
    state = DialogueState(
        category_ids=["cat:running-shoes"],
        required_attribute_ids=["attr:color=red"],
        max_price=100.0,
    )
    state.add("exclude_item_ids", "p9")
    update = DialogueTracker().update(
        state, _Intent(), [ent("cat:headphones", "Category")], Filters()
    )
    assert update.new_topic
    assert state.category_ids == ["cat:headphones"]
    assert state.required_attribute_ids == [] and state.max_price is None
    assert state.exclude_item_ids == ["p9"]  # exclusions survive a topic change


def test_explicit_filters_win():
    state = DialogueState(max_price=100.0)
    filters = Filters(
        price=PriceRange(10.0, 50.0), category_ids=("cat:a",), excluded_item_ids=("p1",)
    )
    DialogueTracker().update(state, _Intent(price=_Price(max=200)), [], filters)
    assert (state.min_price, state.max_price) == (10.0, 50.0)
    assert state.category_ids == ["cat:a"] and state.exclude_item_ids == ["p1"]


def test_clear_constraints_forgets_everything_but_feedback():
    state = DialogueState(max_price=10.0, brand_ids=["brand:x"], liked_item_ids=["p1"])
    DialogueTracker().update(state, _Intent(clear_constraints=True), [], Filters())
    assert state.max_price is None and state.brand_ids == [] and state.liked_item_ids == ["p1"]


def test_state_round_trips_through_json_and_is_capped():
    state = DialogueState(max_price=99.5, focus=RANKING[0])
    state.remember_ranking(RANKING)
    for i in range(500):
        state.add("shown_item_ids", f"x{i}")
    again = DialogueState.from_json(state.to_json())
    assert again == state
    assert len(again.shown_item_ids) == 200 and again.shown_item_ids[-1] == "x499"


def test_state_json_is_the_dataclass_as_a_dict() -> None:
    """``to_json`` builds its dict field by field; it must say what ``asdict`` says."""
    state = DialogueState(max_price=99.5, focus=RANKING[0], price_level="low")
    state.remember_ranking(RANKING)
    state.last_mentions = [{"surface": "nike", "span": (0, 4), "kind": "brand"}]
    state.add("shown_item_ids", "x1")
    want = json.dumps(asdict(state) | {"v": STATE_VERSION}, separators=(",", ":"))
    assert state.to_json() == want
    assert DialogueState().to_json() == json.dumps(
        asdict(DialogueState()) | {"v": STATE_VERSION}, separators=(",", ":")
    )


def test_a_named_product_is_a_soft_anchor():
    state = DialogueState()
    named = (ShownItem("p7", "Nike Pegasus", 120.0, "brand:nike", "cat:running-shoes"),)
    update = DialogueTracker().update(state, _Intent(), [], Filters(), named_items=named)
    assert update.anchor == named[0] and state.focus == named[0]
    assert state.preferred_ids == ["cat:running-shoes", "brand:nike"]
    assert state.category_ids == [] and state.brand_ids == []  # preferred, not required
    assert state.exclude_item_ids == ["p7"]


def test_a_named_product_can_stay_a_candidate():
    state = DialogueState()
    named = (ShownItem("p7", "Nike Pegasus", 120.0, "brand:nike", "cat:running-shoes"),)
    tracker = DialogueTracker(hide_named_items=False)
    update = tracker.update(state, _Intent(), [], Filters(), named_items=named)
    assert update.anchor == named[0] and state.exclude_item_ids == []


def test_recent_messages_are_capped_newest_first_and_survive_json() -> None:
    from models.dialogue.dialogue_state import MAX_MESSAGE_CHARS, MAX_MESSAGES

    state = DialogueState()
    for n in range(MAX_MESSAGES + 3):
        state.remember_message(f"message {n}")
    state.remember_message("   ")  # blank: not a message
    assert len(state.recent_messages) == MAX_MESSAGES
    assert state.conversation_text().split("\n")[0] == f"message {MAX_MESSAGES + 2}"
    state.remember_message("x" * (MAX_MESSAGE_CHARS - 5))
    # the oldest go until the total fits; the newest stays whole
    assert state.recent_messages[-1] == "x" * (MAX_MESSAGE_CHARS - 5)
    assert sum(len(m) for m in state.recent_messages) <= MAX_MESSAGE_CHARS
    state.remember_message("y" * (MAX_MESSAGE_CHARS + 50))
    assert state.recent_messages == ["y" * (MAX_MESSAGE_CHARS + 50)]
    again = DialogueState.from_json(state.to_json())
    assert again.conversation_text() == state.conversation_text()


def test_a_price_level_is_remembered_and_sets_no_bound():
    state = DialogueState()
    DialogueTracker().update(state, _Intent(price=_Price(level="low")), [], Filters())
    assert state.price_level == "low"
    assert state.price_range() == PriceRange(None, None)


def test_cheaper_with_nothing_shown_reads_as_cheap_and_a_new_budget_drops_the_derived_cap():
    state = DialogueState()
    DialogueTracker().update(state, _Intent(price=_Price(relative="cheaper")), [], Filters())
    assert state.price_level == "low" and state.cheaper_than is None
    state.remember_ranking(RANKING)
    DialogueTracker().update(state, _Intent(price=_Price(relative="cheaper")), [], Filters())
    assert state.cheaper_than == 60.0
    DialogueTracker().update(state, _Intent(price=_Price(max=200.0)), [], Filters())
    assert state.cheaper_than is None and state.price_range() == PriceRange(None, 200.0)


@dataclass(frozen=True)
class _Pref:
    kind: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class _WishIntent(_Intent):
    preferences: tuple[_Pref, ...] = ()


def test_wishes_are_kept_soft_and_a_negated_one_is_forgotten():
    state = DialogueState()
    intent = _WishIntent(preferences=(_Pref("audience", "men"), _Pref("season", "winter")))
    winter = ent("attr:style=insulated", "Attribute")
    DialogueTracker().update(state, intent, [], Filters(), wish_entities=(winter,))
    assert state.wishes == ["audience=men", "season=winter"]
    assert state.preferred_ids == ["attr:style=insulated"]
    assert state.required_attribute_ids == []  # a wish never filters
    DialogueTracker().update(
        state, _WishIntent(preferences=(_Pref("audience", "men", True),)), [], Filters()
    )
    assert state.wishes == ["season=winter"]
    state.reset_constraints()
    assert state.wishes == [] and state.price_level == ""
