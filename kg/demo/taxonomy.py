"""The demo store's category tree and attribute vocabulary.

Five root families with 35 leaf categories; the leaves live in ``categories.json`` (one per
line). Each leaf says what its products look like (``shape`` for the image), what they cost
(``base_price`` in USD, before the brand tier), which attribute values make sense for it, and
how common it is (``weight``). Running shoes are over-represented on purpose: the acceptance
query of the service is about them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

#: Color name -> (RGB used in images, aliases for linking). 14 colors.
COLORS: dict[str, tuple[tuple[int, int, int], tuple[str, ...]]] = {
    "red": ((206, 32, 41), ("crimson", "scarlet")),
    "blue": ((38, 99, 214), ("royal blue", "cobalt")),
    "navy": ((27, 38, 89), ("navy blue", "dark blue")),
    "black": ((28, 28, 30), ("jet black", "onyx")),
    "white": ((252, 252, 252), ("off-white", "ivory")),
    "grey": ((128, 131, 136), ("gray", "charcoal")),
    "green": ((46, 150, 70), ("olive", "forest green")),
    "yellow": ((245, 205, 30), ("lemon", "mustard")),
    "orange": ((242, 120, 24), ("tangerine",)),
    "pink": ((238, 120, 170), ("rose", "fuchsia")),
    "purple": ((124, 60, 170), ("violet", "lilac")),
    "brown": ((120, 74, 40), ("chocolate", "tan")),
    "beige": ((214, 196, 160), ("sand", "cream")),
    "teal": ((18, 140, 140), ("turquoise", "aqua")),
}

#: Aliases of non-color attribute values (name -> value -> aliases).
VALUE_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "use": {
        "running": ("jogging", "road running"),
        "trail": ("trail running", "off-road"),
        "gym": ("workout", "training", "fitness"),
        "casual": ("everyday", "lifestyle"),
        "outdoor": ("hiking", "outdoors"),
        "office": ("work", "business"),
        "travel": ("commuting",),
        "yoga": ("pilates",),
        "home": ("indoor",),
        "tennis": (),
        "cycling": ("biking",),
        "basketball": (),
        "sleep": ("bedtime",),
        "beach": ("summer",),
    },
    "material": {
        "mesh": ("breathable mesh",),
        "leather": ("genuine leather",),
        "suede": (),
        "knit": ("knitted",),
        "canvas": (),
        "cotton": ("organic cotton",),
        "polyester": ("poly",),
        "fleece": (),
        "wool": ("merino", "merino wool"),
        "denim": (),
        "nylon": (),
        "gore-tex": ("goretex", "waterproof membrane"),
        "rubber": (),
        "foam": (),
        "cork": (),
        "steel": ("stainless steel",),
        "aluminium": ("aluminum",),
        "carbon": ("carbon fiber", "carbon fibre"),
        "graphite": (),
        "plastic": (),
        "silicone": (),
        "ceramic": ("porcelain",),
        "glass": (),
        "linen": (),
        "down": ("down fill",),
        "bamboo": (),
        "tpe": (),
        "cast iron": (),
    },
    "style": {
        "minimalist": ("minimal", "clean"),
        "retro": ("vintage", "classic"),
        "sporty": ("athletic",),
        "lightweight": ("light",),
        "cushioned": ("max cushion", "plush"),
        "waterproof": ("water resistant", "water-resistant"),
        "slim": ("slim fit", "skinny"),
        "relaxed": ("loose", "relaxed fit"),
        "oversized": (),
        "cropped": (),
        "high-top": ("high top",),
        "low-top": ("low top",),
        "wireless": ("bluetooth", "cordless"),
        "noise-cancelling": ("noise cancelling", "anc"),
        "rugged": ("tough", "heavy-duty"),
        "modern": ("contemporary",),
        "cozy": ("soft",),
        # "warm" is about keeping warm (a towel is not warm); "winter" links the season wish
        "insulated": ("thermal", "warm", "winter"),
        "compact": ("small", "portable"),
        "adjustable": (),
        "patterned": ("printed",),
    },
}


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """One leaf category and everything the generator needs to make products for it."""

    slug: str  # "running-shoes" -> id "cat:running-shoes"
    name: str  # "Running shoes"
    parent: str  # root slug
    noun: str  # as used in titles: "running shoes", "hoodie"
    base_price: float  # USD, mid-tier brand
    shape: str  # image silhouette, see kg.demo.images
    materials: tuple[str, ...]
    styles: tuple[str, ...]
    uses: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    weight: float = 1.0  # relative share of the catalog

    @property
    def id(self) -> str:
        return f"cat:{self.slug}"


#: Root families: slug -> (name, aliases).
ROOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "shoes": ("Shoes", ("footwear",)),
    "apparel": ("Apparel", ("clothing", "clothes")),
    "sports": ("Sports", ("sports equipment", "sporting goods", "fitness gear")),
    "electronics": ("Electronics", ("gadgets", "tech")),
    "home": ("Home", ("home goods", "homeware", "home decor")),
}


def _load_leaves() -> tuple[CategorySpec, ...]:
    raw = json.loads(resources.files(__package__).joinpath("categories.json").read_text("utf-8"))
    return tuple(
        CategorySpec(
            slug=c["slug"],
            name=c["name"],
            parent=c["parent"],
            noun=c["noun"],
            base_price=float(c["base_price"]),
            shape=c["shape"],
            materials=tuple(c["materials"]),
            styles=tuple(c["styles"]),
            uses=tuple(c["uses"]),
            aliases=tuple(c["aliases"]),
            weight=float(c["weight"]),
        )
        for c in raw
    )


#: The leaf categories, from ``categories.json`` (one leaf per line).
LEAVES: tuple[CategorySpec, ...] = _load_leaves()
LEAF_BY_ID: dict[str, CategorySpec] = {leaf.id: leaf for leaf in LEAVES}

__all__ = ["COLORS", "LEAF_BY_ID", "LEAVES", "ROOTS", "VALUE_ALIASES", "CategorySpec"]
