"""The template explainer: reasons come from real paths and constraints, replies name only them."""

from __future__ import annotations

from kg.types import ProductRecord
from kgrec.domain import KgPath, PathNode, PriceRange
from models.explain import AppliedConstraints, ExplainItem, ExplainRequest, make_explainer

RED = PathNode("attr:color=red", "Attribute", "color")
RUN = PathNode("cat:running-shoes", "Category", "Running shoes")


def product(pid: str, title: str, price: float, brand: str = "Asics") -> ProductRecord:
    return ProductRecord(
        id=pid, title=title, price=price, brand=brand, brand_id=f"brand:{brand.lower()}"
    )


def item(p: ProductRecord, *paths: KgPath) -> ExplainItem:
    return ExplainItem(p, 1.0, paths)


def test_reasons_are_grounded_in_the_given_paths_and_constraints():
    p = product("p1", "Asics Gel Red", 89.99)
    paths = (
        KgPath((RED, PathNode("p1", "Product", p.title)), ("HAS_ATTRIBUTE",)),
        KgPath((RUN, PathNode("p1", "Product", p.title)), ("IN_CATEGORY",)),
    )
    c = AppliedConstraints(price=PriceRange(None, 100.0), excluded_brands=("Nike",))
    out = make_explainer().explain(ExplainRequest((item(p, *paths),), c))
    texts = [r.text for r in out.reasons["p1"]]
    assert texts[:2] == ["red", "in Running shoes"]
    assert "$89.99, under your $100.00" in texts
    assert any("not Nike" in t for t in texts)
    assert out.reasons["p1"][0].path == paths[0]
    assert "Asics Gel Red" in out.reply and "under $100.00" in out.reply and "Nike" in out.reply


def test_a_path_that_does_not_end_at_the_item_is_not_used():
    p = product("p1", "A", 10.0)
    stray = KgPath((RED, PathNode("p2", "Product", "B")), ("HAS_ATTRIBUTE",))
    out = make_explainer().explain(ExplainRequest((item(p, stray),), AppliedConstraints()))
    assert all(r.path is None for r in out.reasons["p1"])
    assert "B" not in out.reply.split()


def test_vague_request_asks_a_follow_up_and_empty_result_offers_to_relax():
    p = product("p1", "A", 10.0)
    vague = make_explainer().explain(ExplainRequest((item(p),), AppliedConstraints(), vague=True))
    assert vague.reply.endswith("?")
    none = make_explainer().explain(ExplainRequest((), AppliedConstraints(categories=("Mugs",))))
    assert "could not find" in none.reply and "mugs" in none.reply


def test_replies_vary_between_turns():
    p = product("p1", "A", 10.0)
    replies = {
        make_explainer().explain(ExplainRequest((item(p),), AppliedConstraints(), variant=v)).reply
        for v in range(3)
    }
    assert len(replies) == 3


def test_unknown_explainer_lists_valid_names():
    import pytest

    from kgrec.errors import ConfigError

    with pytest.raises(ConfigError, match="valid: template"):
        make_explainer("nope")


def test_checker_flags_names_outside_the_ranked_items_and_paths():
    from models.explain import FaithfulnessChecker

    p = product("p1", "Asics Gel Red", 89.99)
    path = KgPath((RED, PathNode("p1", "Product", p.title)), ("HAS_ATTRIBUTE",))
    request = ExplainRequest((item(p, path),), AppliedConstraints(excluded_brands=("Nike",)))
    checker = FaithfulnessChecker(
        ["Asics Gel Red", "Asics", "Nike", "Nike Air Zoom", "Brooks Ghost"]
    )
    good = make_explainer().explain(request).reply
    assert checker.check(good, request) == []
    bad = good + " You might also like the Brooks Ghost or the Nike Air Zoom."
    assert [v.name for v in checker.check(bad, request)] == ["brooks ghost", "nike air zoom"]


def test_shared_features_with_an_anchor_merge_into_one_reason():
    p = product("p1", "Brooks Ghost", 70.0, brand="Brooks")
    anchor = PathNode("p9", "Product", "Asics Nimbus")
    knit = PathNode("attr:material=knit", "Attribute", "material")
    mine = PathNode("p1", "Product", p.title)
    paths = (
        KgPath((anchor, RED, mine), ("HAS_ATTRIBUTE", "HAS_ATTRIBUTE")),
        KgPath((anchor, knit, mine), ("HAS_ATTRIBUTE", "HAS_ATTRIBUTE")),
    )
    out = make_explainer().explain(ExplainRequest((item(p, *paths),), AppliedConstraints()))
    assert out.reasons["p1"][0].text == "shares red, knit with Asics Nimbus"
    assert out.reasons["p1"][0].path == paths[0]


def test_an_absurd_bound_prints_short():
    from models.explain.template_explainer import money

    assert money(1e308) == "$1,000,000,000.00+"
    assert money(float("inf")) == "$1,000,000,000.00+"
    assert money(12.5) == "$12.50"
    p = product("p1", "A", 10.0)
    c = AppliedConstraints(price=PriceRange(None, 1e308))
    out = make_explainer().explain(ExplainRequest((item(p),), c))
    assert max(len(w) for w in out.reply.split()) < 25


def test_cheaper_and_price_level_and_wishes_are_said_without_a_made_up_budget():
    p = product("p1", "A", 40.0)
    c = AppliedConstraints(cheaper_than=59.99, price_level="low", wishes=("occasion=gift",))
    out = make_explainer().explain(ExplainRequest((item(p),), c))
    assert "$40.00, cheaper than the last picks" in [r.text for r in out.reasons["p1"]]
    assert "cheaper than the last picks, budget-friendly first" in out.reply
    assert "Noted: as a gift." in out.reply
    assert "your" not in out.reply and "59.9" not in out.reply


def test_collaborative_evidence_is_a_count_of_enough_shoppers_never_who():
    p = product("p1", "Asics Gel Red", 89.99)
    c = AppliedConstraints(similar_to="Trail Boot X")
    many = make_explainer().explain(ExplainRequest((ExplainItem(p, 1.0, co_shoppers=12),), c))
    texts = [r.text for r in many.reasons["p1"]]
    assert "12 shoppers who chose Trail Boot X also chose it" in texts
    assert all(r.path is None for r in many.reasons["p1"] if r.text.startswith("12 "))
    few = make_explainer().explain(ExplainRequest((ExplainItem(p, 1.0, co_shoppers=4),), c))
    assert not any("shoppers who chose" in r.text for r in few.reasons["p1"])  # too few
