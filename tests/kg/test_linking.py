"""Unit tests of kg.linking on a tiny hand-made lexicon (no model, no database)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from kg.linking import EntityLinker, LinkCandidate, LinkerConfig, _text, normalize
from kg.types import LexiconEntry


def _entries(entity_id: str, label: str, name: str, *aliases: str) -> list[LexiconEntry]:
    return [LexiconEntry(entity_id, label, name, s) for s in (name, *aliases)]


LEXICON = [
    *_entries("brand:nike", "Brand", "Nike", "nike inc"),
    *_entries("brand:new-balance", "Brand", "New Balance", "nb"),
    *_entries("brand:the-north-face", "Brand", "The North Face", "north face", "tnf"),
    *_entries("brand:levis", "Brand", "Levi's", "levi strauss"),
    *_entries("brand:under-armour", "Brand", "Under Armour"),
    *_entries("brand:hydro-flask", "Brand", "Hydro Flask"),
    *_entries("cat:t-shirts", "Category", "T-shirts", "tees"),
    *_entries("cat:running-shoes", "Category", "Running shoes", "jogging shoes"),
    *_entries("cat:hoodies", "Category", "Hoodies"),
    *_entries("cat:accessories", "Category", "Accessories"),
    *_entries("cat:dresses", "Category", "Dresses"),
    *_entries("attr:color=red", "Attribute", "red", "crimson"),
    *_entries("attr:style=retro", "Attribute", "retro", "vintage"),
    *_entries("attr:material=gore-tex", "Attribute", "gore-tex", "goretex"),
    *_entries("prod:1", "Product", "Toy Story (1995)"),
    *_entries("prod:197", "Product", "Graduate, The (1967)"),
    *_entries("prod:11", "Product", "Seven (Se7en) (1995)"),
    *_entries("prod:96", "Product", "Terminator 2: Judgment Day (1991)"),
    *_entries("prod:151", "Product", "Willy Wonka and the Chocolate Factory (1971)"),
    *_entries("prod:1000", "Product", "Hamlet (1990)"),
    *_entries("prod:1001", "Product", "Hamlet (1996)"),
    *_entries("person:steven-spielberg", "Entity", "Steven Spielberg"),
    *_entries("person:peter-otoole", "Entity", "Peter O'Toole"),
    *_entries("genre:sci-fi", "Entity", "Sci-Fi", "science fiction"),
    *_entries("genre:film-noir", "Entity", "Film-Noir"),
    *_entries("genre:red", "Entity", "Red"),  # collides with the color on purpose
]


@pytest.fixture(scope="module")
def linker() -> EntityLinker:
    return EntityLinker(LEXICON)


def _best(linker: EntityLinker, mention: str, hint: str | None = None) -> str | None:
    found = linker.link_best(mention, label_hint=hint)
    return found.entity_id if found else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Nike ", "nike"),
        ("T-Shirt", "t shirt"),
        ("Levi’s", "levis"),
        ("Pokémon", "pokemon"),
        ("Salt & Pepper", "salt and pepper"),
        ("Film-Noir!!", "film noir"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("shoes", "shoe"),
        ("hoodies", "hoodie"),
        ("dresses", "dress"),
        ("watches", "watch"),
        ("accessories", "accessory"),
        ("tees", "tee"),
    ],
)
def test_plural_folding_maps_both_to_one_key(a: str, b: str) -> None:
    assert _text.key(a) == _text.key(b)


def test_title_forms_read_catalogue_titles() -> None:
    forms = _text.title_forms("Graduate, The (1967)")
    assert [(f.text, f.year) for f in forms][:2] == [("the graduate", 1967), ("graduate the", 1967)]
    akas = [f.text for f in _text.title_forms("Seven (Se7en) (1995)") if not f.primary]
    assert akas == ["se7en"]


@pytest.mark.parametrize(
    ("mention", "gold", "method"),
    [
        ("Nike", "brand:nike", "exact"),
        ("NIKE", "brand:nike", "exact"),
        ("north face", "brand:the-north-face", "alias"),
        ("t shirt", "cat:t-shirts", "normalized"),
        ("tshirts", "cat:t-shirts", "normalized"),
        ("T-Shirt", "cat:t-shirts", "normalized"),
        ("running shoe", "cat:running-shoes", "normalized"),
        ("hoodie", "cat:hoodies", "normalized"),
        ("accessory", "cat:accessories", "normalized"),
        ("dress", "cat:dresses", "normalized"),
        ("levis", "brand:levis", "exact"),
        ("Levi’s", "brand:levis", "exact"),
        ("goretex", "attr:material=gore-tex", "alias"),
        ("gore tex", "attr:material=gore-tex", "exact"),
        ("the graduate", "prod:197", "exact"),
        ("Graduate", "prod:197", "normalized"),
        ("toy story 1995", "prod:1", "exact"),
        ("Se7en", "prod:11", "alias"),
        ("terminator 2", "prod:96", "alias"),  # the part before the colon
        ("peter otoole", "person:peter-otoole", "exact"),
        ("filmnoir", "genre:film-noir", "normalized"),
    ],
)
def test_exact_alias_and_normalised(
    linker: EntityLinker, mention: str, gold: str, method: str
) -> None:
    found = linker.link_best(mention)
    assert found is not None
    assert (found.entity_id, found.method) == (gold, method)
    assert 0.9 <= found.score <= 1.0


@pytest.mark.parametrize(
    ("mention", "gold"),
    [
        ("nkie", "brand:nike"),
        ("new balanse", "brand:new-balance"),
        ("hydroflsk", "brand:hydro-flask"),
        ("runing shoes", "cat:running-shoes"),
        ("steven speilberg", "person:steven-spielberg"),
        ("acessories", "cat:accessories"),
        ("under armor", "brand:under-armour"),
    ],
)
def test_typos_link_with_lower_scores(linker: EntityLinker, mention: str, gold: str) -> None:
    found = linker.link_best(mention)
    assert found is not None and found.entity_id == gold
    assert found.method == "fuzzy"
    assert found.score < linker.config.normalized_score


def test_typos_never_change_numbers(linker: EntityLinker) -> None:
    assert linker.link("toy story 2") == []
    assert linker.link_best("toy stroy") is not None


def test_generic_trailing_words_are_dropped(linker: EntityLinker) -> None:
    assert _best(linker, "sci-fi movies") == "genre:sci-fi"
    assert _best(linker, "film noir films") == "genre:film-noir"


def test_abbreviations_expand_both_ways() -> None:
    lexicon = _entries("genre:sci-fi", "Entity", "Sci-Fi") + _entries(
        "genre:doc", "Entity", "Documentary"
    )
    linker = EntityLinker(lexicon)
    assert _best(linker, "science fiction") == "genre:sci-fi"
    assert _best(linker, "science fiction films") == "genre:sci-fi"
    assert _best(linker, "docs") == "genre:doc"
    assert EntityLinker(lexicon, config=LinkerConfig(expansions=())).link("science fiction") == []


def test_short_words_get_no_typo_tolerance(linker: EntityLinker) -> None:
    assert linker.link("rad") == []  # "red" is one edit away but too short to trust


@pytest.mark.parametrize(
    ("mention", "gold", "method"),
    [
        ("ua", "brand:under-armour", "acronym"),
        ("spielberg", "person:steven-spielberg", "surname"),
        ("willy wonka", "prod:151", "prefix"),
    ],
)
def test_abbreviations_surnames_and_prefixes(
    linker: EntityLinker, mention: str, gold: str, method: str
) -> None:
    found = linker.link_best(mention)
    assert found is not None and (found.entity_id, found.method) == (gold, method)


@pytest.mark.parametrize(
    "mention",
    ["pizza", "quantum physics textbook", "xyzzy", "", "   ", "!!!", "a" * 10_000],
)
def test_nil(linker: EntityLinker, mention: str) -> None:
    assert linker.link(mention) == []
    assert linker.link_best(mention) is None


@pytest.mark.parametrize(
    "mention",
    ["') DETACH DELETE n //", "Nike'}) MATCH (n) DETACH DELETE n //", "$name", "\x00\n\t"],
)
def test_hostile_strings_are_matched_literally(linker: EntityLinker, mention: str) -> None:
    found = linker.link(mention)
    # only the literal words may match ("Nike" in the second one), nothing is executed or raised
    assert all(c.entity_id == "brand:nike" for c in found)


def test_label_hint_biases_without_forbidding(linker: EntityLinker) -> None:
    assert _best(linker, "red", hint="Attribute") == "attr:color=red"
    assert _best(linker, "red", hint="Entity") == "genre:red"
    # a hint for a label with no match does not turn a good match into NIL
    found = linker.link_best("nike", label_hint="Category")
    assert found is not None and found.entity_id == "brand:nike"
    assert found.score < 1.0


def test_year_breaks_ties_between_remakes(linker: EntityLinker) -> None:
    assert _best(linker, "hamlet (1996)") == "prod:1001"
    assert _best(linker, "Hamlet 1990") == "prod:1000"
    both = linker.link("hamlet")
    assert {c.entity_id for c in both} == {"prod:1000", "prod:1001"}
    assert both[0].score < 1.0  # ambiguous


def test_link_returns_ranked_scores_in_unit_interval(linker: EntityLinker) -> None:
    found = linker.link("new balanse", k=5)
    assert found and all(isinstance(c, LinkCandidate) for c in found)
    scores = [c.score for c in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert linker.link("nike", k=0) == []


def test_nil_threshold_is_applied() -> None:
    strict = EntityLinker(LEXICON, config=LinkerConfig(nil_threshold=0.99))
    assert strict.link_best("nkie") is None
    assert strict.link_best("nike") is not None


def test_refresh_adds_new_nodes(linker: EntityLinker) -> None:
    fresh = EntityLinker(LEXICON)
    assert fresh.link_best("hoka") is None
    fresh.refresh([*LEXICON, *_entries("brand:hoka", "Brand", "Hoka", "hoka one one")])
    assert _best(fresh, "Hoka One One") == "brand:hoka"


class _BagOfLettersEncoder:
    """A tiny deterministic encoder: letter counts, L2-normalised."""

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            for ch in t:
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_embedding_runs_only_when_cheaper_signals_are_inconclusive() -> None:
    enc = _BagOfLettersEncoder()
    linker = EntityLinker(LEXICON, encoder=enc)
    lexicon_calls = enc.calls
    assert _best(linker, "nike") == "brand:nike"
    assert enc.calls == lexicon_calls  # exact match: no model call
    found = linker.link_best("shoes running")  # same letters, no lexical match
    assert found is not None and found.entity_id == "cat:running-shoes"
    assert found.method == "embedding"
    calls = enc.calls
    linker.link("shoes running")
    assert enc.calls == calls  # mention vectors are cached


def test_refresh_embeds_only_new_texts() -> None:
    enc = _BagOfLettersEncoder()
    linker = EntityLinker(LEXICON, encoder=enc)
    calls = enc.calls
    linker.refresh(LEXICON)
    assert enc.calls == calls  # nothing new: no model call
    linker.refresh([*LEXICON, *_entries("cat:tents", "Category", "Tents")])
    assert enc.calls == calls + 1
    assert _best(linker, "tents") == "cat:tents"


def test_link_during_refresh_sees_a_consistent_lexicon() -> None:
    enc = _BagOfLettersEncoder()
    linker = EntityLinker(LEXICON, encoder=enc)
    bigger = [*LEXICON, *_entries("cat:tents", "Category", "Tents")]
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(200):
                found = linker.link_best("shoes running")
                assert found is not None and found.entity_id == "cat:running-shoes"
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=hammer) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(20):
        linker.refresh(bigger if i % 2 else LEXICON)
    for t in threads:
        t.join()
    assert errors == []


def test_latency_smoke(linker: EntityLinker) -> None:
    mentions = ["nike", "runing shoes", "pizza"] * 20
    start = time.perf_counter()
    for m in mentions:
        linker.link(m)
    per_call_ms = (time.perf_counter() - start) * 1000 / len(mentions)
    assert per_call_ms < 5.0


def test_a_title_case_word_is_not_an_acronym() -> None:
    """ReDial seekers' "Oh, ..." linked *Open House* by its initials 75 times in 300
    dialogues: a word written as a word is not an acronym; capitals or lower case may be."""
    linker = EntityLinker(_entries("movie:oh", "Product", "Open House"))
    assert linker.link("Oh") == []
    for acronym in ("OH", "oh"):
        found = linker.link_best(acronym)
        assert found is not None and (found.entity_id, found.method) == ("movie:oh", "acronym")


def test_names_many_entities_share_are_indexed_as_a_scan_would() -> None:
    """Long posting lists (a generated catalogue repeats titles) find an entity's place
    through a map: each entity once, first-seen order, the strongest relation kept."""
    from kg.linking._index import _SCAN_POSTINGS, NAME, build_index
    from kg.types import LexiconEntry

    n = 3 * _SCAN_POSTINGS
    lexicon = [
        LexiconEntry(f"prod:{i % n}", "Product", "Trail socks", "Trail socks x") for i in range(n)
    ]
    lexicon += [
        LexiconEntry(f"prod:{i}", "Product", "Trail socks x", "Trail socks x") for i in range(n)
    ]
    index = build_index(lexicon, acronym_labels=(), surname_labels=(), embed_labels=("Product",))
    postings = max(index.exact.values(), key=len)
    assert [index.entity_ids[p.entity] for p in postings] == [f"prod:{i}" for i in range(n)]
    assert {p.kind for p in postings} == {NAME}  # each alias gave way to the name (stronger)
    assert max(map(len, index.embed_entities)) == n


def test_a_guessed_name_needs_a_stronger_link() -> None:
    """A capitalised word the parser only guessed at (no lexicon entry, no label hint) links at
    ``guess_threshold``; the same score with a hint links at ``threshold`` (ReDial: "Chat
    soon" had linked *The Cheat* at 0.59)."""
    from kg.linking.entity_directory import EntityDirectory

    class Fixed:
        def link_best(self, mention: str, label_hint: str | None = None) -> LinkCandidate:
            return LinkCandidate("m:cheat", "Product", "The Cheat", 0.55, "fuzzy")

    directory = EntityDirectory([], Fixed(), threshold=0.5, guess_threshold=0.6)
    assert directory.resolve("Chat") is None
    linked = directory.resolve("Chat", label_hint="Product")
    assert linked is not None and linked.entity_id == "m:cheat"
    assert EntityDirectory([], Fixed(), threshold=0.5, guess_threshold=0.5).resolve("Chat")
