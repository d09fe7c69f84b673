"""The demo generator: determinism, catalog shape, text, tastes, ground truth and holdout."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pytest

from kg.demo import DemoData, generate_demo, is_positive, product_color
from kg.demo.brands import BRAND_BY_ID
from kg.demo.generator import START_TS, round_price
from kg.demo.taxonomy import COLORS, LEAF_BY_ID
from kgrec.domain import EventType


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(seed=3, n_products=300, n_users=100)


@pytest.fixture(scope="module")
def full() -> DemoData:
    """The default-size demo (about 1.5 s to generate)."""
    return generate_demo()


def _products_by(data: DemoData, **filters: object) -> list[dict]:
    return [p for p in data.products if all(p.get(k) == v for k, v in filters.items())]


# -- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_data(small: DemoData) -> None:
    again = generate_demo(seed=3, n_products=300, n_users=100)
    assert again == small
    assert again.tastes == small.tastes


def test_other_seed_gives_other_data(small: DemoData) -> None:
    other = generate_demo(seed=4, n_products=300, n_users=100)
    assert [p["title"] for p in other.products] != [p["title"] for p in small.products]
    assert other.interactions != small.interactions


def test_catalog_does_not_depend_on_user_count(small: DemoData) -> None:
    fewer_users = generate_demo(seed=3, n_products=300, n_users=10)
    assert fewer_users.products == small.products


@pytest.mark.parametrize("n_products, n_users", [(0, 10), (10, -1)])
def test_bad_sizes_raise(n_products: int, n_users: int) -> None:
    with pytest.raises(ValueError):
        generate_demo(n_products=n_products, n_users=n_users)


# -- catalog ----------------------------------------------------------------------------------


def test_default_sizes_and_tree_shape(full: DemoData) -> None:
    assert len(full.products) == 6000
    assert len(full.users) == 2500
    assert 100_000 <= len(full.interactions) <= 200_000
    parents = {c["id"]: c.get("parent_id") for c in full.categories}
    leaves = {cid for cid in parents if cid not in set(parents.values())}
    assert len(leaves) >= 30
    assert all(parents[p] is None for p in set(parents.values()) if p is not None)  # two levels
    assert len(full.brands) >= 40
    assert {"Nike", "Adidas", "Puma", "Asics", "New Balance", "Brooks", "Hoka", "Saucony"} <= {
        b["name"] for b in full.brands
    }
    colors = {a["value"] for a in full.attributes if a["name"] == "color"}
    assert len(colors) >= 12
    used_leaves = {p["category_id"] for p in full.products}
    assert used_leaves == leaves  # every leaf has products at default size


def test_every_product_is_complete_and_consistent(small: DemoData) -> None:
    category_ids = {c["id"] for c in small.categories}
    brand_ids = {b["id"] for b in small.brands}
    attr_ids = {a["id"] for a in small.attributes}
    for p in small.products:
        leaf = LEAF_BY_ID[p["category_id"]]  # a leaf, not a root
        assert p["category_id"] in category_ids
        assert p["brand_id"] in brand_ids
        assert leaf.slug in BRAND_BY_ID[p["brand_id"]].categories
        assert p["attribute_ids"] and set(p["attribute_ids"]) <= attr_ids
        names = [a.split("=")[0] for a in p["attribute_ids"]]
        assert names.count("attr:color") == 1
        assert p["price"] > 0
        assert f"{p['price']:.2f}".endswith("9")
        assert p["image_ref"].startswith("images/") and p["image_ref"].endswith(".png")


def test_attributes_only_from_the_category_vocabulary(small: DemoData) -> None:
    for p in small.products:
        leaf = LEAF_BY_ID[p["category_id"]]
        allowed = {"material": leaf.materials, "style": leaf.styles, "use": leaf.uses}
        for aid in p["attribute_ids"]:
            name, value = aid.removeprefix("attr:").split("=")
            if name != "color":
                assert value.replace("-", " ") in {v.replace("-", " ") for v in allowed[name]}


def test_attribute_ids_are_typed_name_value_rows(small: DemoData) -> None:
    by_id = {a["id"]: a for a in small.attributes}
    assert by_id["attr:color=red"]["name"] == "color"
    assert by_id["attr:color=red"]["value"] == "red"
    assert "gray" in by_id["attr:color=grey"]["aliases"]
    assert len(by_id) == len(small.attributes)


def test_titles_and_descriptions_are_written_from_the_attributes(small: DemoData) -> None:
    brand_names = {b["id"]: b["name"] for b in small.brands}
    for p in small.products:
        leaf = LEAF_BY_ID[p["category_id"]]
        attrs = dict(a.removeprefix("attr:").split("=") for a in p["attribute_ids"][:3])
        assert brand_names[p["brand_id"]] in p["title"]
        assert leaf.noun in p["title"].lower()
        desc = p["description"].lower()
        assert attrs["material"].replace("-", " ") in desc.replace("-", " ")
        assert attrs["color"] in desc
    assert len({p["title"] for p in small.products}) > 0.9 * len(small.products)
    openings = Counter(p["description"].split()[0] for p in small.products)
    assert len(openings) >= 4  # several templates in use


def test_aliases_on_categories(small: DemoData) -> None:
    by_id = {c["id"]: c for c in small.categories}
    assert "runners" in by_id["cat:running-shoes"]["aliases"]
    assert all(c.get("aliases") for c in small.categories)


@pytest.mark.parametrize(
    "raw, expected",
    [(12.3, 11.99), (87.6, 89.99), (92.4, 89.99), (651.0, 649.99), (1234.0, 1249.99)],
)
def test_round_price(raw: float, expected: float) -> None:
    assert round_price(raw) == expected


def test_running_shoes_span_prices_colors_and_brands(full: DemoData) -> None:
    shoes = _products_by(full, category_id="cat:running-shoes")
    cheap = [p for p in shoes if p["price"] < 80]
    dear = [p for p in shoes if p["price"] > 120]
    for group in (cheap, dear):
        assert len({product_color(p) for p in group}) >= 8
        assert len({p["brand_id"] for p in group}) >= 4


def test_acceptance_query_red_running_shoes_under_100_not_nike(full: DemoData) -> None:
    red = [
        p
        for p in _products_by(full, category_id="cat:running-shoes")
        if "attr:color=red" in p["attribute_ids"]
    ]
    hits = [p for p in red if p["price"] < 100 and p["brand_id"] != "brand:nike"]
    assert len(hits) >= 10
    assert len({p["brand_id"] for p in hits}) >= 3
    over = [p for p in red if p["price"] > 100]
    assert len({p["brand_id"] for p in over}) >= 3
    assert any(p["brand_id"] == "brand:nike" for p in red)  # the exclusion has work to do


# -- users and interactions -------------------------------------------------------------------


def test_interactions_are_well_formed(small: DemoData) -> None:
    users = {u["id"] for u in small.users}
    items = {p["id"] for p in small.products}
    ids = [r["event_id"] for r in small.interactions]
    assert len(set(ids)) == len(ids) and all(i.startswith("demo:") for i in ids)
    allowed = {t.value for t in EventType} - {"impression", "dismiss"}
    for r in small.interactions:
        assert r["user_id"] in users and r["item_id"] in items
        assert r["type"] in allowed
        assert START_TS <= r["ts"] <= START_TS + 366 * 86_400
        if r["type"] == EventType.RATING:
            assert r["value"] in {1.0, 2.0, 3.0, 4.0, 5.0}
    assert {r["type"] for r in small.interactions} == allowed
    assert [r["ts"] for r in small.interactions] == sorted(r["ts"] for r in small.interactions)


def test_purchases_follow_add_to_cart(small: DemoData) -> None:
    carted: set[tuple[str, str]] = set()
    for r in small.interactions:  # time order
        key = (r["user_id"], r["item_id"])
        if r["type"] == EventType.ADD_TO_CART:
            carted.add(key)
        elif r["type"] == EventType.PURCHASE:
            assert key in carted


def test_users_interact_with_their_preferred_categories_far_above_chance(full: DemoData) -> None:
    cat_of = {p["id"]: p["category_id"] for p in full.products}
    share = Counter(cat_of.values())
    hits = clicks = 0
    chance = 0.0
    for r in full.interactions:
        if r["type"] != EventType.CLICK:
            continue
        prefs = full.tastes[r["user_id"]].categories
        clicks += 1
        hits += cat_of[r["item_id"]] in prefs
        chance += sum(share[c] for c in prefs) / len(full.products)
    observed, expected = hits / clicks, chance / clicks
    # binomial sd of `observed` at chance is < 0.002 here; require a huge margin anyway
    assert observed > 0.5
    assert observed > 4 * expected


def test_brand_and_color_preferences_show_in_purchases(full: DemoData) -> None:
    by_id = {p["id"]: p for p in full.products}
    brand_hits = color_hits = n = 0
    for r in full.interactions:
        if r["type"] != EventType.PURCHASE:
            continue
        taste, p = full.tastes[r["user_id"]], by_id[r["item_id"]]
        n += 1
        brand_hits += p["brand_id"] in taste.brands
        color_hits += product_color(p) in taste.colors
    assert color_hits / n > 2.0 * (2.5 / len(COLORS))  # users prefer 2-3 of 14 colors
    assert brand_hits / n > 0.2


def test_ratings_correlate_with_utility(full: DemoData) -> None:
    index = {p["id"]: i for i, p in enumerate(full.products)}
    utils: dict[str, np.ndarray] = {}
    stars, util = [], []
    sample = {u["id"] for u in full.users[:600]}
    for r in full.interactions:
        if r["type"] == EventType.RATING and r["user_id"] in sample:
            u = utils.setdefault(r["user_id"], full.utilities(r["user_id"]))
            stars.append(r["value"])
            util.append(u[index[r["item_id"]]])
    assert len(stars) > 500
    assert np.corrcoef(stars, util)[0, 1] > 0.2


def test_tastes_are_plausible(full: DemoData) -> None:
    assert set(full.tastes) == {u["id"] for u in full.users}
    for taste in full.tastes.values():
        assert 2 <= len(taste.categories) <= 4
        assert all(cid in LEAF_BY_ID for cid in taste.categories)
        assert taste.brands and set(taste.brands) <= set(BRAND_BY_ID)
        assert 2 <= len(taste.colors) <= 3
        assert taste.price_sensitivity >= 0 and taste.activity >= 5


# -- ground truth and holdout -----------------------------------------------------------------


def test_true_top_n_is_sorted_by_utility_and_respects_exclude(small: DemoData) -> None:
    user = small.users[0]["id"]
    u = small.utilities(user)
    assert u.shape == (len(small.products),)
    index = {p["id"]: i for i, p in enumerate(small.products)}
    top = small.true_top_n(user, n=10)
    assert len(top) == len(set(top)) == 10
    scores = [u[index[i]] for i in top]
    assert scores == sorted(scores, reverse=True)
    assert math.isclose(scores[0], u.max())
    rest = small.true_top_n(user, n=10, exclude=top[:3])
    assert rest[:7] == top[3:]
    prefs = small.tastes[user].categories
    assert sum(small.products[index[i]]["category_id"] in prefs for i in top) >= 8


def test_split_is_deterministic_leak_free_and_positive(small: DemoData) -> None:
    split = small.split(valid=0.1, test=0.1)
    assert split == small.split(valid=0.1, test=0.1)
    held = {(r["user_id"], r["item_id"]) for r in split.valid + split.test}
    assert not any((r["user_id"], r["item_id"]) in held for r in split.train)
    assert all(is_positive(r) for r in split.valid + split.test)
    assert not {(r["user_id"], r["item_id"]) for r in split.valid} & {
        (r["user_id"], r["item_id"]) for r in split.test
    }
    # every row is either in train or a held-out pair's row (negatives/clicks of held pairs drop)
    assert len(split.train) + len(split.valid) + len(split.test) <= len(small.interactions)
    positives: dict[str, set[str]] = defaultdict(set)
    for r in small.interactions:
        if is_positive(r):
            positives[r["user_id"]].add(r["item_id"])
    test_items: dict[str, set[str]] = defaultdict(set)
    for r in split.test:
        test_items[r["user_id"]].add(r["item_id"])
    n_pos = sum(len(v) for v in positives.values() if len(v) >= 3)
    n_test = sum(len(v) for v in test_items.values())
    assert 0.08 * n_pos <= n_test <= 0.25 * n_pos


def test_split_holds_out_the_latest_items(small: DemoData) -> None:
    split = small.split(valid=0.0, test=0.2)
    assert not split.valid and split.test

    def first_positive(rows: list) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(dict)
        for r in rows:
            if is_positive(r):
                seen = out[r["user_id"]]
                seen[r["item_id"]] = min(seen.get(r["item_id"], math.inf), r["ts"])
        return out

    train, test = first_positive(split.train), first_positive(split.test)
    for user, items in test.items():
        assert max(train[user].values()) <= min(items.values())


@pytest.mark.parametrize("valid, test", [(-0.1, 0.1), (0.5, 0.5)])
def test_split_rejects_bad_fractions(small: DemoData, valid: float, test: float) -> None:
    with pytest.raises(ValueError):
        small.split(valid=valid, test=test)
