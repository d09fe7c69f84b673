"""Close matches (``server/retrieval.py``, ``server/ranking.py``, the template reply): a
brand or colour asked for that leaves the answer short fills it with products missing one of
them, after every exact match and saying what each misses; the category, the price and
"not <brand>" are never relaxed. On a real embedded graph with a small catalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import EmbeddedFalkorDB, open_store
from kg.store import GraphStore
from kg.types import CandidateQuery, PriceRange
from kgrec.domain import Recommendation, RecommendQuery
from models.dialogue.session_rules import close_query
from models.explain import make_explainer
from server.pipeline import Pipeline, PipelineConfig
from tests.server.server_fakes import NoLinker, RulesParser

#: footballs: id -> (brand, colour, price)
BALLS = {
    "f1": ("wilson", "pink", 20.0),
    "f2": ("wilson", "red", 25.0),
    "f3": ("adidas", "pink", 22.0),
    "f4": ("nike", "pink", 18.0),
    "f5": ("adidas", "blue", 21.0),
    "f6": ("nike", "blue", 19.0),
    "f7": ("adidas", "red", 90.0),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphStore]:
    server = EmbeddedFalkorDB(Path(tmp_path_factory.mktemp("close")) / "g").start()
    st = open_store(server.uri, graph="close_matches")
    st.init_schema()
    st.upsert_categories(
        [
            {"id": "cat:footballs", "name": "Footballs", "aliases": ["football"]},
            {"id": "cat:shoes", "name": "Shoes", "aliases": ["shoe"]},
        ]
    )
    st.upsert_brands(
        [{"id": f"brand:{b}", "name": b.title()} for b in ("wilson", "adidas", "nike")]
    )
    colours = ("pink", "red", "blue")
    st.upsert_attributes([{"id": f"attr:color={c}", "name": "color", "value": c} for c in colours])
    balls = [
        {"id": i, "title": f"{b.title()} {c} football {i}", "price": p,
         "category_id": "cat:footballs", "brand_id": f"brand:{b}",
         "attribute_ids": [f"attr:color={c}"], "popularity": 10.0 - n}
        for n, (i, (b, c, p)) in enumerate(BALLS.items())
    ]  # fmt: skip
    shoe = {"id": "s1", "title": "Wilson pink shoe", "price": 20.0, "category_id": "cat:shoes",
            "brand_id": "brand:wilson", "attribute_ids": ["attr:color=pink"]}  # fmt: skip
    st.upsert_products([*balls, shoe])
    yield st
    st.drop_all()
    st.close()
    server.stop()


def _pipeline(store: GraphStore, **config: object) -> Pipeline:
    lexicon = store.lexicon(("Category", "Brand", "Attribute"))
    return Pipeline(store, RulesParser(lexicon), NoLinker(), make_explainer(),  # type: ignore[arg-type]
                    config=PipelineConfig(**config), lexicon=lexicon)  # type: ignore[arg-type]  # fmt: skip


def _ask(pipeline: Pipeline, message: str, limit: int = 5) -> Recommendation:
    query = RecommendQuery(message=message, limit=limit, explain=True, explore=False)
    return pipeline.recommend_sync(query)


def _ids(answer: Recommendation) -> list[str]:
    return [it.item_id for it in answer.items]


def test_a_short_answer_is_filled_with_close_matches_after_the_exact_one(
    store: GraphStore,
) -> None:
    answer = _ask(_pipeline(store), "pink footballs from wilson")
    ids = _ids(answer)
    assert ids[0] == "f1" and len(ids) == 5  # the one exact match first, then filled
    # those missing one of the two (pink or Wilson) before those missing both; no pink
    # Wilson shoe: the category is never relaxed
    assert set(ids[1:4]) == {"f2", "f3", "f4"} and ids[4] in {"f5", "f6", "f7"}
    first, rest = answer.items[0], answer.items[1:]
    assert all(r.kind != "close" for r in first.reasons)
    f2 = next(it for it in rest if it.item_id == "f2")
    f3 = next(it for it in rest if it.item_id == "f3")
    assert [r.text for r in f2.reasons if r.kind == "close"] == ["close match: not pink"]
    assert [r.text for r in f3.reasons if r.kind == "close"] == [
        "close match: by Adidas, not Wilson"
    ]
    assert all(any(r.kind == "close" for r in it.reasons) for it in rest)
    assert "Only 1 " in answer.reply and "4 close matches" in answer.reply


def test_close_matches_keep_exclusions_and_the_price(store: GraphStore) -> None:
    answer = _ask(_pipeline(store), "pink footballs from wilson under $50, not nike")
    ids = _ids(answer)
    assert ids[0] == "f1"
    assert not {"f4", "f6"} & set(ids)  # "not nike" is never relaxed
    assert "f7" not in ids  # $90: over the price said
    assert set(ids) == {"f1", "f2", "f3", "f5"}


def test_off_the_answer_is_the_exact_matches_only(store: GraphStore) -> None:
    assert _ids(_ask(_pipeline(store, close_matches=False), "pink footballs from wilson")) == ["f1"]
    # and an answer the exact matches fill is not touched
    assert _ids(_ask(_pipeline(store), "pink footballs", limit=2)) == ["f1", "f3"]


def test_no_exact_match_says_so_and_shows_the_close_ones(store: GraphStore) -> None:
    answer = _ask(_pipeline(store), "blue footballs from wilson", limit=3)
    assert answer.reply.startswith("I could not find blue footballs from Wilson")
    assert "3 close matches" in answer.reply
    # each misses one of the two (blue, or Wilson); none misses both
    assert set(_ids(answer)) <= {"f1", "f2", "f5", "f6"}


def test_the_close_query_relaxes_brands_and_attributes_only() -> None:
    query = CandidateQuery(
        price=PriceRange(None, 50.0), category_ids=("cat:footballs",),
        brand_ids=("brand:wilson",), required_attribute_ids=("attr:color=pink",),
        preferred_ids=("attr:style=x",), exclude_brand_ids=("brand:nike",),
        exclude_item_ids=("f9",),
    )  # fmt: skip
    relaxed = close_query(query)
    assert relaxed is not None
    assert relaxed.brand_ids == () and relaxed.required_attribute_ids == ()
    assert relaxed.preferred_ids == ("attr:style=x", "brand:wilson", "attr:color=pink")
    assert (relaxed.price, relaxed.category_ids, relaxed.exclude_brand_ids) == (
        query.price, query.category_ids, query.exclude_brand_ids,
    )  # fmt: skip
    assert relaxed.exclude_item_ids == ("f9",)
    assert close_query(CandidateQuery(category_ids=("cat:footballs",))) is None
