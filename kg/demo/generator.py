"""The seeded demo e-commerce store: :func:`generate_demo`.

Everything is a pure function of ``(seed, n_products, n_users)``. Products, users and
interactions draw from independent child streams of ``numpy.random.SeedSequence(seed)``, so the
catalog does not change when only ``n_users`` does.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np

from kg.types import AttributeRow, BrandRow, CategoryRow, InteractionRow, ProductRow, UserRow
from kgrec.domain import EventType

from .brands import BRANDS, BrandSpec
from .demo_data import DemoData
from .images import image_filename
from .taste import UserTaste
from .taxonomy import COLORS, LEAVES, ROOTS, VALUE_ALIASES, CategorySpec
from .text import make_description, make_title

log = logging.getLogger(__name__)

#: Interactions span one year from this instant (2025-01-01T00:00:00Z).
START_TS = 1_735_689_600.0
SPAN_S = 365 * 86_400.0

_COLOR_WEIGHTS = {"black": 1.6, "white": 1.4, "grey": 1.2, "navy": 1.0, "blue": 1.0, "red": 1.2}
_ROOT_WEIGHTS = {"shoes": 1.3, "apparel": 1.2, "sports": 1.0, "electronics": 0.8, "home": 0.7}
_SUFFIXES = ("", "", "", "2", "3", "4", "Pro", "Lite", "Plus", "X", "Max", "Elite", "SE")
_FIRST_NAMES = (
    "Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn",
    "Maria", "Lena", "Noah", "Liam", "Emma", "Olivia", "Mia", "Lucas", "Ethan", "Sofia",
    "Hana", "Yuki", "Ravi", "Priya", "Omar", "Amara", "Mateo", "Chloe", "Ines", "Tomas",
)  # fmt: skip


def _slug(text: str) -> str:
    return "-".join(text.lower().replace("'", "").split())


def attribute_id(name: str, value: str) -> str:
    """``attr:<name>=<value>`` with spaces in the value as dashes (``attr:material=cast-iron``)."""
    return f"attr:{name}={_slug(value)}"


def round_price(p: float) -> float:
    """Round like a shop does: 12.99, 89.99, 94.99, 649.99, 1,249.99."""
    if p < 20:
        step = 1.0
    elif p < 200:
        step = 5.0
    elif p < 1000:
        step = 10.0
    else:
        step = 50.0
    return round(max(step, round(p / step) * step) - 0.01, 2)


# -- catalog ----------------------------------------------------------------------------------


def _category_rows() -> list[CategoryRow]:
    rows: list[CategoryRow] = [
        {"id": f"cat:{slug}", "name": name, "parent_id": None, "aliases": list(aliases)}
        for slug, (name, aliases) in ROOTS.items()
    ]
    rows += [
        {
            "id": leaf.id,
            "name": leaf.name,
            "parent_id": f"cat:{leaf.parent}",
            "aliases": list(leaf.aliases),
        }
        for leaf in LEAVES
    ]
    return rows


def _brand_rows() -> list[BrandRow]:
    return [{"id": b.id, "name": b.name, "aliases": list(b.aliases)} for b in BRANDS]


def _attribute_rows() -> list[AttributeRow]:
    rows: list[AttributeRow] = [
        {"id": attribute_id("color", c), "name": "color", "value": c, "aliases": list(aliases)}
        for c, (_, aliases) in COLORS.items()
    ]
    for name, field in (("material", "materials"), ("style", "styles"), ("use", "uses")):
        values = sorted({v for leaf in LEAVES for v in getattr(leaf, field)})
        for v in values:
            aliases = list(VALUE_ALIASES.get(name, {}).get(v, ()))
            rows.append({"id": attribute_id(name, v), "name": name, "value": v, "aliases": aliases})
    return rows


def _products(rng: np.random.Generator, n: int) -> tuple[list[ProductRow], list[float]]:
    leaf_p = np.array([leaf.weight for leaf in LEAVES])
    leaf_p /= leaf_p.sum()
    sellers: dict[str, list[BrandSpec]] = {
        leaf.slug: [b for b in BRANDS if leaf.slug in b.categories] for leaf in LEAVES
    }
    colors = list(COLORS)
    color_p = np.array([_COLOR_WEIGHTS.get(c, 0.8) for c in colors])
    color_p /= color_p.sum()
    rows: list[ProductRow] = []
    quality: list[float] = []
    width = max(6, len(str(n)))
    for i, leaf_i in enumerate(rng.choice(len(LEAVES), size=n, p=leaf_p)):
        leaf: CategorySpec = LEAVES[leaf_i]
        brand = sellers[leaf.slug][int(rng.integers(len(sellers[leaf.slug])))]
        lines = brand.lines_for(leaf.slug)
        line = lines[int(rng.integers(len(lines)))]
        model = f"{line} {_SUFFIXES[int(rng.integers(len(_SUFFIXES)))]}".strip()
        color = colors[int(rng.choice(len(colors), p=color_p))]
        material = leaf.materials[int(rng.integers(len(leaf.materials)))]
        style = leaf.styles[int(rng.integers(len(leaf.styles)))]
        # the first listed use is the category's main one
        uses = [
            leaf.uses[0] if rng.random() < 0.6 else leaf.uses[int(rng.integers(len(leaf.uses)))]
        ]
        others = [u for u in leaf.uses if u != uses[0]]
        if others and rng.random() < 0.35:
            uses.append(others[int(rng.integers(len(others)))])
        price = round_price(leaf.base_price * brand.multiplier * float(rng.lognormal(0.0, 0.22)))
        pid = f"prod:{i:0{width}d}"
        rows.append(
            {
                "id": pid,
                "title": make_title(rng, brand.name, model, leaf, color, material, style, uses[0]),
                "description": make_description(
                    rng, brand.name, brand.tier, leaf, color, material, style, uses
                ),
                "price": price,
                "currency": "USD",
                "category_id": leaf.id,
                "brand_id": brand.id,
                "attribute_ids": [
                    attribute_id("color", color),
                    attribute_id("material", material),
                    attribute_id("style", style),
                    *(attribute_id("use", u) for u in uses),
                ],
                "image_ref": f"images/{image_filename(pid)}",
                "aliases": [f"{brand.name} {line}"],
            }
        )
        quality.append(round(float(rng.normal(0.0, 0.5)), 4))
    return rows, quality


# -- users ------------------------------------------------------------------------------------


def _users(rng: np.random.Generator, n: int) -> tuple[list[UserRow], dict[str, UserTaste]]:
    roots = list(ROOTS)
    root_p = np.array([_ROOT_WEIGHTS[r] for r in roots])
    root_p /= root_p.sum()
    by_root = {r: [leaf for leaf in LEAVES if leaf.parent == r] for r in roots}
    colors = list(COLORS)
    rows: list[UserRow] = []
    tastes: dict[str, UserTaste] = {}
    for i in range(n):
        uid = f"user:{i}"
        first = _FIRST_NAMES[int(rng.integers(len(_FIRST_NAMES)))]
        name = f"{first} {chr(65 + int(rng.integers(26)))}."
        rows.append({"id": uid, "name": name})
        primary = roots[int(rng.choice(len(roots), p=root_p))]
        n_cats = int(rng.integers(2, 5))
        cats: list[CategorySpec] = []
        while len(cats) < n_cats:
            pool = by_root[primary] if rng.random() < 0.7 else list(LEAVES)
            leaf = pool[int(rng.integers(len(pool)))]
            if leaf not in cats:
                cats.append(leaf)
        affinity = [1.0, *sorted(rng.uniform(0.5, 1.0, n_cats - 1).round(3), reverse=True)]
        overlap = np.array([sum(c.slug in b.categories for c in cats) for b in BRANDS], dtype=float)
        n_brands = min(int(rng.integers(2, 4)), int((overlap > 0).sum()))
        brand_idx = rng.choice(len(BRANDS), size=n_brands, replace=False, p=overlap / overlap.sum())
        color_idx = rng.choice(len(colors), size=int(rng.integers(2, 4)), replace=False)
        tastes[uid] = UserTaste(
            user_id=uid,
            categories={c.id: float(a) for c, a in zip(cats, affinity, strict=True)},
            brands=tuple(BRANDS[int(b)].id for b in brand_idx),
            colors=tuple(colors[int(c)] for c in color_idx),
            price_sensitivity=round(float(rng.gamma(2.0, 0.5)), 4),
            activity=round(float(np.clip(rng.lognormal(math.log(26.0), 0.6), 5.0, 400.0)), 3),
        )
    return rows, tastes


# -- interactions -----------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _interactions(rng: np.random.Generator, data: DemoData) -> list[InteractionRow]:
    """Sample each user's events from the utility model (see :class:`UserTaste`)."""
    n_items = len(data.products)
    pids = [p["id"] for p in data.products]
    events: list[tuple[float, int, int, int, float]] = []  # (ts, user, item, type, value)
    types = list(EventType)
    t_click, t_cart, t_buy, t_rate, t_like, t_dislike = (
        types.index(t)
        for t in (EventType.CLICK, EventType.ADD_TO_CART, EventType.PURCHASE, EventType.RATING,
                  EventType.LIKE, EventType.DISLIKE)
    )  # fmt: skip
    end = START_TS + SPAN_S
    for ui, user in enumerate(data.users):
        taste = data.tastes[user["id"]]
        u = data.utilities(user["id"])
        k = int(min(n_items, max(3, rng.poisson(taste.activity))))
        g = u + rng.gumbel(size=n_items)  # Gumbel top-k == sampling ∝ exp(u) without replacement
        top = np.argpartition(-g, k - 1)[:k]
        chosen = top[np.argsort(-g[top], kind="stable")]
        z = u[chosen] - u[chosen].mean()
        t0 = START_TS + rng.uniform(0.0, SPAN_S, size=k)
        cart = rng.random(k) < _sigmoid(1.2 * z - 1.0)
        buy = cart & (rng.random(k) < _sigmoid(0.8 * z + 0.2))
        rate = buy & (rng.random(k) < 0.6)
        stars = np.clip(np.rint(3.2 + 0.9 * z + rng.normal(0.0, 0.7, size=k)), 1, 5)
        like = rng.random(k) < _sigmoid(1.5 * z - 2.5)
        dislike = ~like & ~cart & (rng.random(k) < _sigmoid(-1.5 * z - 2.5))
        t_c = t0 + rng.uniform(30.0, 1_800.0, size=k)
        t_b = t_c + rng.uniform(60.0, 2 * 86_400.0, size=k)
        t_r = np.minimum(t_b + rng.uniform(2 * 86_400.0, 20 * 86_400.0, size=k), end)
        t_l = t0 + rng.uniform(5.0, 600.0, size=k)
        for j in range(k):
            item = int(chosen[j])
            events.append((float(t0[j]), ui, item, t_click, 1.0))
            if cart[j]:
                events.append((float(t_c[j]), ui, item, t_cart, 1.0))
            if buy[j]:
                events.append((float(t_b[j]), ui, item, t_buy, 1.0))
            if rate[j]:
                events.append((float(t_r[j]), ui, item, t_rate, float(stars[j])))
            if like[j]:
                events.append((float(t_l[j]), ui, item, t_like, 1.0))
            if dislike[j]:
                events.append((float(t_l[j]), ui, item, t_dislike, 1.0))
    events.sort()
    return [
        {
            "user_id": data.users[ui]["id"],
            "item_id": pids[item],
            "type": types[t].value,
            "value": value,
            "ts": float(round(ts)),
            "event_id": f"demo:{n}",
        }
        for n, (ts, ui, item, t, value) in enumerate(events)
    ]


def generate_demo(seed: int = 7, n_products: int = 6000, n_users: int = 2500) -> DemoData:
    """Generate the demo store; identical arguments give identical rows.

    Args:
        seed: root seed of every random draw.
        n_products: catalog size (default 6,000 across 35 leaf categories and 55 brands).
        n_users: number of users (default 2,500; about 60 interactions each).
    """
    if n_products < 1 or n_users < 0:
        raise ValueError(f"need n_products >= 1 and n_users >= 0, got {n_products}, {n_users}")
    started = time.perf_counter()
    prod_rng, user_rng, event_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    products, quality = _products(prod_rng, n_products)
    users, tastes = _users(user_rng, n_users)
    data = DemoData(
        seed=seed,
        categories=_category_rows(),
        brands=_brand_rows(),
        attributes=_attribute_rows(),
        products=products,
        users=users,
        interactions=[],
        tastes=tastes,
        quality=quality,
    )
    data.interactions = _interactions(event_rng, data)
    log.info(
        "demo generated: %d products, %d users, %d interactions in %.2fs",
        len(products), len(users), len(data.interactions), time.perf_counter() - started,
    )  # fmt: skip
    return data


__all__ = ["START_TS", "attribute_id", "generate_demo", "round_price"]
