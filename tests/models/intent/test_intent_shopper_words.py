"""What shoppers say with no catalog name in it (issue 19): price words with no number, who it
is for, a gift, a use, a season, and a count before the thing. Rules only (no model)."""

from __future__ import annotations

import pytest

from models.intent.embedded import EmbeddedIntentParser


@pytest.fixture(scope="module")
def parser(lexicon) -> EmbeddedIntentParser:
    return EmbeddedIntentParser(lexicon=lexicon)


@pytest.mark.parametrize(
    ("message", "relative", "level"),
    [
        ("a cheap mug", None, "low"),
        ("not too expensive headphones", None, "low"),
        ("something affordable", None, "low"),
        ("budget running shoes", None, "low"),
        ("I'm on a budget", None, "low"),
        ("budget friendly t-shirts", None, "low"),
        ("premium headphones", None, "high"),
        ("high-end headphones", None, "high"),
        ("expensive ones", None, "high"),
        ("top of the line running shoes", None, "high"),
        # relative to the last picks, not a level
        ("these are too expensive", "cheaper", None),
        ("these are pricey, anything cheaper?", "cheaper", None),
        ("something more premium", "pricier", None),
        ("too cheap looking, higher end please", "pricier", None),
        ("more affordable options please", "cheaper", None),
    ],
)
def test_price_words_set_a_level_or_a_direction_never_a_number(
    parser, message, relative, level
) -> None:
    price = parser.extract_slots(message).price
    assert price is not None
    assert (price.min, price.max, price.relative, price.level) == (None, None, relative, level)


@pytest.mark.parametrize(
    ("message", "lo", "hi", "level"),
    [
        ("my budget is 300", None, 300.0, None),  # "budget" introduces an amount
        ("cheap running shoes under 60", None, 60.0, "low"),
        ("not too pricey, max 90", None, 90.0, "low"),
    ],
)
def test_price_words_next_to_amounts(parser, message, lo, hi, level) -> None:
    price = parser.extract_slots(message).price
    assert price is not None
    assert (price.min, price.max, price.relative, price.level) == (lo, hi, None, level)


@pytest.mark.parametrize("message", ["no budget", "is the 2nd cheaper than the 1st?"])
def test_no_price_level(parser, message) -> None:
    price = parser.extract_slots(message).price
    assert price is None or price.level is None


def _prefs(parser: EmbeddedIntentParser, message: str) -> list[tuple[str, str, bool]]:
    slots = parser.extract_slots(message)
    for p in slots.preferences:
        assert message[p.start : p.end] == p.text
    return [(p.kind, p.value, p.negated) for p in slots.preferences]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("something for my dad", [("audience", "men", False)]),
        ("a jacket for my wife", [("audience", "women", False)]),
        ("a lamp for her", [("audience", "women", False)]),
        ("a tablet for my daughter", [("audience", "kids", False)]),
        ("not for a toddler", [("audience", "kids", True)]),
        ("a gift for my dad", [("occasion", "gift", False), ("audience", "men", False)]),
        ("birthday present ideas", [("occasion", "gift", False)]),
        ("goggles for swimming", [("use", "swimming", False)]),
        ("a backpack for hiking", [("use", "hiking", False)]),
        ("something warm for winter", [("season", "winter", False)]),  # one wish, not two
        ("summer dresses", [("season", "summer", False)]),
        ("I'm running late, any shoes?", []),  # "running late" is not a use
    ],
)
def test_soft_wishes(parser, message, expected) -> None:
    assert _prefs(parser, message) == expected


def test_a_graph_attribute_stays_a_mention_and_a_season_word_never_filters(lexicon) -> None:
    from kg.types import LexiconEntry

    more = [
        LexiconEntry("attr:gender=women", "Attribute", "women", "women"),
        LexiconEntry("attr:style=insulated", "Attribute", "insulated", "warm"),
    ]
    parser = EmbeddedIntentParser(lexicon=[*lexicon, *more])
    slots = parser.extract_slots("warm running shoes for women")
    assert [(m.text, m.entity_id) for m in slots.mentions] == [
        ("running shoes", "cat:running-shoes"),
        ("women", "attr:gender=women"),
    ]
    assert [(p.kind, p.value) for p in slots.preferences] == [("season", "winter")]


@pytest.mark.parametrize(
    "message", ["1 blue running shoes", "2 red t-shirts", "one black headphones"]
)
def test_a_count_before_the_thing_is_neither_a_price_nor_a_reference(parser, message) -> None:
    slots = parser.extract_slots(message)
    assert slots.price is None and slots.references == ()
    assert [m.label_hint for m in slots.mentions] == ["Attribute", "Category"]
