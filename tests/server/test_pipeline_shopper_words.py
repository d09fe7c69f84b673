"""Price words and soft wishes through the whole turn (issue 19), on a real embedded graph with
a small catalog: the parser's rules (no model: the intent type does not matter here) ->
dialogue state -> scoring -> reply."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kg.types import EntityHit
from kgrec.domain import RecommendQuery
from models.explain import make_explainer
from models.scoring import ItemScorer, NewItem, ScoringContext
from server.pipeline import Pipeline, PipelineConfig
from tests.server.server_fakes import RulesParser

MUG_PRICES = {"m1": 24.0, "m2": 9.99, "m3": 15.0, "m4": 32.0, "m5": 12.5, "m6": 19.0}


class _Linker:
    """Links only the season wish "winter", to the insulated attribute."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def link_best(self, mention: str, label_hint: str | None = None) -> EntityHit | None:
        self.asked.append(mention)
        if mention == "winter":
            return EntityHit("attr:style=insulated", "Attribute", "insulated", 1.0)
        return None


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("words")) / "g").start()
    st = open_store(server.uri, graph="shopper_words")
    st.init_schema()
    st.upsert_categories(
        [
            {"id": "cat:mugs", "name": "Mugs", "aliases": ["mug"]},
            {"id": "cat:jackets", "name": "Jackets", "aliases": ["jacket"]},
        ]
    )
    st.upsert_attributes([{"id": "attr:style=insulated", "name": "style", "value": "insulated"}])
    mugs = [
        {"id": i, "title": f"Mug {i}", "price": p, "category_id": "cat:mugs"}
        for i, p in MUG_PRICES.items()
    ]
    jackets = [
        {"id": "j1", "title": "Shell jacket", "price": 90.0, "category_id": "cat:jackets"},
        {
            "id": "j2",
            "title": "Puffer jacket",
            "price": 150.0,
            "category_id": "cat:jackets",
            "attribute_ids": ["attr:style=insulated"],
        },
        {"id": "j3", "title": "Rain jacket", "price": 60.0, "category_id": "cat:jackets"},
    ]
    st.upsert_products([*mugs, *jackets])
    yield st
    st.drop_all()
    st.close()
    server.stop()


@pytest.fixture
def pipeline(store: GraphStore) -> Pipeline:
    lexicon = store.lexicon(("Category", "Attribute"))
    return Pipeline(
        store,
        RulesParser(lexicon),
        _Linker(),
        make_explainer(),
        lexicon=lexicon,  # type: ignore[arg-type]
    )


def _ask(pipeline: Pipeline, message: str, session: str = "", limit: int = 6):  # type: ignore[no-untyped-def]
    return pipeline.recommend_sync(
        RecommendQuery(message=message, session_id=session, limit=limit, explain=True)
    )


def test_a_cheap_mug_puts_the_cheapest_mugs_first(pipeline: Pipeline) -> None:
    plain = _ask(pipeline, "a mug")
    cheap = _ask(pipeline, "a cheap mug")
    by_price = sorted(MUG_PRICES.values())
    assert [i.price for i in cheap.items] == by_price
    assert [i.price for i in plain.items] != by_price  # the order is the price word's doing
    assert "budget-friendly first" in cheap.reply
    # a level is an order, not a bound: nothing is filtered, no number is echoed
    assert not [c for c in cheap.intent.constraints if c.field == "price"]
    assert "under" not in cheap.reply


class _PricierIsBetter(ItemScorer):
    """A learned scorer that disagrees with the shopper: the dearer the mug, the better."""

    kind = "pricier"

    @property
    def item_ids(self) -> list[str]:
        return list(MUG_PRICES)

    @property
    def version(self) -> str:
        return "pricier"

    def catalog_scores(self, ctx: ScoringContext) -> np.ndarray:
        return np.array([10.0 * p for p in MUG_PRICES.values()], dtype=np.float32)

    def add_item(self, item: NewItem) -> None:
        raise NotImplementedError

    def save(self, directory: Path) -> Path:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path) -> _PricierIsBetter:
        raise NotImplementedError


def test_cheap_is_cheapest_first_even_against_the_model(store: GraphStore) -> None:
    lexicon = store.lexicon(("Category", "Attribute"))
    with_model = Pipeline(
        store,
        RulesParser(lexicon),
        _Linker(),
        make_explainer(),
        scorer=_PricierIsBetter(),
        config=PipelineConfig(w_model=10.0),  # the model outweighs the price rank
        lexicon=lexicon,  # type: ignore[arg-type]
    )
    assert [i.price for i in _ask(with_model, "a mug").items][0] == max(MUG_PRICES.values())
    cheap = [i.price for i in _ask(with_model, "a cheap mug", limit=4).items]
    assert cheap == sorted(cheap) and cheap[0] == min(MUG_PRICES.values())


def test_premium_puts_the_priciest_first(pipeline: Pipeline) -> None:
    got = _ask(pipeline, "premium mugs")
    assert [i.price for i in got.items] == sorted(MUG_PRICES.values(), reverse=True)


def test_cheaper_reply_names_no_price_the_shopper_did_not_say(pipeline: Pipeline) -> None:
    first = _ask(pipeline, "mugs", limit=4)
    shown = {i.price for i in first.items}
    cheaper = _ask(pipeline, "cheaper", session=first.session_id, limit=4)
    assert cheaper.items and all(i.price < max(shown) for i in cheaper.items)
    assert "your" not in cheaper.reply
    assert "cheaper than the last picks" in cheaper.reply
    said = {i.price for i in cheaper.items} | shown
    amounts = {float(a) for a in re.findall(r"\$([\d,.]+\d)", cheaper.reply)}
    assert amounts <= said, f"{amounts - said} invented in {cheaper.reply!r}"


def test_cheaper_with_nothing_shown_means_cheap(pipeline: Pipeline) -> None:
    got = _ask(pipeline, "something cheaper in mugs")
    assert [i.price for i in got.items] == sorted(MUG_PRICES.values())


def test_a_season_wish_prefers_what_the_graph_links_it_to_without_filtering(
    pipeline: Pipeline,
) -> None:
    got = _ask(pipeline, "a jacket for winter")
    assert got.items[0].item_id == "j2"  # the insulated one first ...
    assert len(got.items) == 3  # ... but nothing filtered out
    assert not [c for c in got.intent.constraints if c.field == "attribute"]
    assert "for winter" in got.reply


def test_a_wish_the_graph_does_not_know_is_kept_in_the_reply(pipeline: Pipeline) -> None:
    got = _ask(pipeline, "a mug as a gift for my dad")
    assert got.items
    assert "Noted: as a gift, for men." in got.reply
