"""The built-in demo store: a seeded e-commerce catalog, users and interactions.

``generate_demo(seed)`` returns a :class:`DemoData` (graph rows plus the latent user tastes the
interactions were drawn from); ``load_demo(store, data_dir)`` generates it, writes one PNG per
product under ``data_dir/images`` and loads everything into a :class:`~kg.store.GraphStore`.
"""

from .demo_data import DemoData, product_color
from .generator import generate_demo
from .images import render_product_image
from .loader import DemoSummary, demo_loaded, demo_manifest, load_demo
from .split import DemoSplit, is_positive
from .taste import UserTaste

__all__ = [
    "DemoData",
    "DemoSplit",
    "DemoSummary",
    "UserTaste",
    "demo_loaded",
    "demo_manifest",
    "generate_demo",
    "is_positive",
    "load_demo",
    "product_color",
    "render_product_image",
]
