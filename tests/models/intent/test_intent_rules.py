"""Slot rules: price, negation scope, references, clearing, spans and offsets (no model)."""

from __future__ import annotations

import pytest

from models.intent.embedded import EmbeddedIntentParser


@pytest.fixture(scope="module")
def parser(lexicon) -> EmbeddedIntentParser:
    return EmbeddedIntentParser(lexicon=lexicon)


@pytest.mark.parametrize(
    ("message", "lo", "hi", "relative", "currency"),
    [
        ("red running shoes under 100", None, 100.0, None, None),
        ("between 50 and 80", 50.0, 80.0, None, None),
        ("less than $60", None, 60.0, None, "USD"),
        ("around 70", 56.0, 84.0, None, None),
        ("100 bucks", None, 100.0, None, "USD"),
        ("€89", None, 89.0, None, "EUR"),
        ("under one hundred and fifty dollars", None, 150.0, None, "USD"),
        ("eighty-five dollars or less", None, 85.0, None, "USD"),
        ("at least 2 grand", 2000.0, None, None, None),
        ("from £60 upwards", 60.0, None, None, "GBP"),
        ("50-80 dollars", 50.0, 80.0, None, "USD"),
        ("over 80 but under 150", 80.0, 150.0, None, None),
        ("a laptop around 1.5k", 1200.0, 1800.0, None, None),
        ("红色跑鞋 100块以下", None, 100.0, None, "CNY"),
        ("三百块以内", None, 300.0, None, "CNY"),
        ("something cheaper", None, None, "cheaper", None),
        ("these are too expensive", None, None, "cheaper", None),
        ("show me pricier ones", None, None, "pricier", None),
        ("cheaper than 70", None, 70.0, None, None),
    ],
)
def test_price(parser, message, lo, hi, relative, currency) -> None:
    price = parser.extract_slots(message).price
    assert price is not None
    assert (price.min, price.max, price.relative, price.currency) == (lo, hi, relative, currency)


@pytest.mark.parametrize(
    "message",
    [
        "size 10 running shoes",
        "the 2 best headphones",
        "movies from the 90s",
        "is the 2nd one cheaper than the 1st?",
        "what's 2 plus 2",
        "option 3 please",
        "Nike Air Max 90 vs Adidas",
    ],
)
def test_no_price(parser, message) -> None:
    assert parser.extract_slots(message).price is None


@pytest.mark.parametrize(
    ("message", "negated", "kept"),
    [
        ("not Nike", {"Nike"}, set()),
        ("no red or blue", {"red", "blue"}, set()),
        ("anything but Adidas", {"Adidas"}, set()),
        ("running shoes without leather", {"leather"}, {"running shoes"}),
        ("Nike, but not red", {"red"}, {"Nike"}),
        ("not Nike, Adidas or Puma", {"Nike", "Adidas", "Puma"}, set()),
        ("I don't want Asics, show me red ones", {"Asics"}, {"red"}),
        ("no more Puma please, New Balance instead", {"Puma"}, {"New Balance"}),
        ("不要 Nike", {"Nike"}, set()),
        ("red running shoes that are waterproof", set(), {"red", "running shoes", "waterproof"}),
    ],
)
def test_negation_scope(parser, message, negated, kept) -> None:
    mentions = parser.extract_slots(message).mentions
    assert {m.text for m in mentions if m.negated} == negated
    assert {m.text for m in mentions if not m.negated} == kept


@pytest.mark.parametrize(
    ("message", "refs"),
    [
        ("the second one", [("ordinal", 1, False)]),
        ("I loved the 3rd one", [("ordinal", 2, False)]),
        ("the last one", [("last", -1, False)]),
        ("something like the last one", [("similar", -1, False)]),
        ("more like the first", [("similar", 0, False)]),
        ("something like these", [("similar", None, False)]),
        ("another brand", [("other_brand", None, False)]),
        ("not that brand", [("that_brand", None, True)]),
        ("more from that brand", [("same_brand", None, False)]),
        ("compare the first and the third", [("ordinal", 0, False), ("ordinal", 2, False)]),
        ("not the first one", [("ordinal", 0, True)]),
        ("number 4", [("ordinal", 3, False)]),
        ("I didn't like the second one", [("ordinal", 1, True)]),
        ("I didn't enjoy the last one at all", [("last", -1, True)]),
        ("I like these", []),
        ("my first time buying running shoes", []),
        ("第二个", [("ordinal", 1, False)]),
    ],
)
def test_references(parser, message, refs) -> None:
    got = [(r.kind, r.index, r.negated) for r in parser.extract_slots(message).references]
    assert got == refs


@pytest.mark.parametrize(
    ("message", "clear"),
    [("start over", True), ("forget that", True), ("any price is fine", True), ("hi", False)],
)
def test_clear(parser, message, clear) -> None:
    assert parser.extract_slots(message).clear_constraints is clear


def test_lexicon_spans_are_grounded_with_offsets(parser) -> None:
    msg = "Show me RED Running-Shoes from nike, or T-shirts like The Usual Suspects"
    mentions = parser.extract_slots(msg).mentions
    by_text = {m.text: m for m in mentions}
    assert set(by_text) == {"RED", "Running-Shoes", "nike", "T-shirts", "The Usual Suspects"}
    for m in mentions:
        assert msg[m.start : m.end] == m.text
    assert by_text["Running-Shoes"].entity_id == "cat:running-shoes"
    assert by_text["nike"].label_hint == "Brand"
    assert by_text["The Usual Suspects"].entity_id == "movie:usual-suspects"


def test_longest_match_and_plural(parser) -> None:
    mentions = parser.extract_slots("trail running shoe from New Balance").mentions
    assert [(m.text, m.entity_id) for m in mentions] == [
        ("trail running shoe", "cat:trail-running-shoes"),
        ("New Balance", "brand:new-balance"),
    ]


def test_typo_is_matched_without_entity_id(parser) -> None:
    (m,) = parser.extract_slots("waterprof").mentions
    assert (m.text, m.label_hint, m.entity_id) == ("waterprof", "Attribute", None)


def test_open_vocabulary_mentions(parser) -> None:
    mentions = parser.extract_slots('movies by Christopher Nolan or like "Inception"').mentions
    got = {(m.text, m.label_hint, m.entity_id) for m in mentions}
    assert got == {("Christopher Nolan", "Entity", None), ("Inception", "Product", None)}


def test_common_word_titles_need_capitals(parser) -> None:
    assert parser.extract_slots("seven hundred dollars").mentions == ()
    assert [m.text for m in parser.extract_slots("thrillers like Seven").mentions] == ["Seven"]


def test_too_much_is_about_money_only_with_a_money_word(parser) -> None:
    assert parser.extract_slots("not too much action").price is None
    assert parser.extract_slots("too much blood for me").price is None
    for message in ("that costs too much", "I don't want to pay too much"):
        price = parser.extract_slots(message).price
        assert price is not None and price.relative == "cheaper"


def test_a_lower_case_word_is_not_a_one_word_title(parser) -> None:
    # the lexicon has the product "Pegasus": a word unless written like a name or after a cue
    assert parser.extract_slots("can you pegasus me a deal").mentions == ()
    assert [m.text for m in parser.extract_slots("is the Pegasus light").mentions] == ["Pegasus"]
    assert [m.text for m in parser.extract_slots("i liked pegasus").mentions] == ["pegasus"]
    # one-word entities (genres, ...) are still found in lower case
    assert [m.text for m in parser.extract_slots("some horror please").mentions] == ["horror"]


def test_a_lower_case_title_before_movies_is_a_kind_of_movie(parser) -> None:
    # "i like pegasus movies" asks for a kind of movie (INSPIRED: "action movies" is not
    # the film "Action"); written like a name, or not before such a noun, it is a title
    assert parser.extract_slots("i like pegasus movies").mentions == ()
    assert parser.extract_slots("i liked pegasus films").mentions == ()
    got = parser.extract_slots("i liked the Pegasus movie").mentions
    assert [m.text for m in got] == ["Pegasus"]
    assert [m.text for m in parser.extract_slots("i liked pegasus a lot").mentions] == ["pegasus"]


def test_conversational_words_are_not_titles() -> None:
    """From a link audit of ReDial seeker messages: "Oh", "Seen", "Hope", "Take" and "Haven't"
    at the start of a sentence had been read as the films *Open House*, *Seven*, *Hope*,
    *Take* and *Haven*. The same titles written as names mid-sentence still are."""
    from kg.types import LexiconEntry
    from models.intent.span_extractor import SpanExtractor

    titles = ("Open House", "Seven", "Hope", "Take", "Haven")
    extractor = SpanExtractor(
        [LexiconEntry(f"m:{t}", "Product", t, t) for t in titles], open_vocabulary=True
    )
    for message in (
        "Oh, I loved that one",
        "Seen it already",
        "Hope you like it",
        "Take care!",
        "I Haven't seen it",
    ):
        assert [s.mention.text for s in extractor.extract(message)] == [], message
    got = [s.mention.text for s in extractor.extract("I liked Hope and Haven a lot")]
    assert got == ["Hope", "Haven"]


def test_second_link_audit_cases() -> None:
    """From the second link audit of ReDial seeker messages (``bench.crs_links``): each message
    had linked a film nobody named; each title still links when written as one."""
    from kg.types import LexiconEntry
    from models.intent.span_extractor import SpanExtractor

    def entry(entity_id: str, label: str, name: str) -> LexiconEntry:
        return LexiconEntry(entity_id, label, name, name)

    extractor = SpanExtractor(
        [
            entry("m:romance", "Product", "Romance"),
            entry("genre:romance", "Entity", "Romance"),  # a film and a genre-like entity
            entry("m:help", "Product", "The Help"),
            entry("m:scary", "Product", "Scary Movie"),
            entry("m:else", "Product", "Anything Else"),
            entry("m:love", "Product", "Love"),
            entry("m:it", "Product", "It"),
            entry("m:d", "Product", "D"),
            entry("m:kid", "Product", "The Kid (1921)"),
            entry("m:story", "Product", "Love Story"),
            entry("cat:shirt", "Category", "T-shirt"),
        ],
        open_vocabulary=True,
    )

    def found(message: str) -> list[tuple[str, str | None]]:
        return [(s.mention.text, s.mention.label_hint) for s in extractor.extract(message)]

    # a lower-case word before "movie" reads as the genre-like entity, not the film
    assert found("I am looking for a romance movie!") == [("romance", "Entity")]
    assert found("thanks for the help") == []  # ordinary words in lower case
    assert found("Anything else?") == []  # only the sentence's capital
    assert found("I LOVE Chicago and have not seen IT") == [("Chicago", None)]  # shouted
    assert found("I am looking for a scary movie") == []  # describes a movie
    assert found("thanks :D") == []  # one letter is not a name
    assert found("Have you seen Anything Else?") == [("Anything Else", "Product")]
    assert found("I liked The Help and Scary Movie") == [
        ("The Help", "Product"),
        ("Scary Movie", "Product"),
    ]
    assert found("I watched Love and It") == [("Love", "Product"), ("It", "Product")]
    # a title's plural is its own: the lexicon folds plurals for everything else
    assert found("The kids were not interested") == []
    assert found("I am a sucker for love stories") == []
    assert found("I liked The Kid and Love Story") == [
        ("The Kid", "Product"),
        ("Love Story", "Product"),
    ]
    assert found("two T-shirts please") == [("T-shirts", "Category")]


def test_code_mixed(parser) -> None:
    slots = parser.extract_slots("推荐 some red 跑鞋 100块以下, 不要 Nike")
    assert {(m.text, m.entity_id, m.negated) for m in slots.mentions} == {
        ("red", "attr:color=red", False),
        ("跑鞋", "cat:running-shoes", False),
        ("Nike", "brand:nike", True),
    }
    assert slots.price is not None and slots.price.max == 100.0


def test_chat_words_opening_a_message_are_not_names() -> None:
    """From ReDial-dev seeker messages: "Bye" opened 101 messages and "Goodbye" 29, each read
    as an open-vocabulary name (a mention the linker then tried, and one that made "Bye!"
    after a turn read as a refinement)."""
    from kg.types import LexiconEntry
    from models.intent.span_extractor import SpanExtractor

    extractor = SpanExtractor(
        [LexiconEntry("m:heat", "Product", "Heat", "Heat")], open_vocabulary=True
    )
    for message in (
        "Bye!",
        "Goodbye, thanks",
        "Sorry, I meant something else",
        "Yep, loved it",
        "Never seen it",
        "Both were great",
        "Alright, thanks",
    ):
        assert [s.mention.text for s in extractor.extract(message)] == [], message
    assert [s.mention.text for s in extractor.extract("Bye, I will watch Heat")] == ["Heat"]
