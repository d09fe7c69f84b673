"""Demo product images: real PNGs whose silhouette shows the category and color."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kg.demo import DemoData, generate_demo, product_color, render_product_image
from kg.demo.images import BACKGROUND, IMAGE_SIZE, SHAPES, image_filename
from kg.demo.taxonomy import COLORS, LEAVES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate_demo(seed=5, n_products=200, n_users=5)


def _open(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def _dominant_color(png: bytes) -> np.ndarray:
    """The most common pixel value that is not (near) the background."""
    px = np.asarray(_open(png).convert("RGB")).reshape(-1, 3).astype(int)
    fg = px[np.abs(px - np.array(BACKGROUND)).sum(axis=1) > 24]
    values, counts = np.unique(fg, axis=0, return_counts=True)
    return values[counts.argmax()]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_shape_renders_a_valid_png_with_a_visible_silhouette(shape: str) -> None:
    png = render_product_image("prod:000001", shape, "blue")
    assert png.startswith(PNG_MAGIC)
    img = _open(png)
    assert img.format == "PNG" and img.mode == "RGB" and img.size == (IMAGE_SIZE, IMAGE_SIZE)
    px = np.asarray(img).reshape(-1, 3).astype(int)
    foreground = (np.abs(px - np.array(BACKGROUND)).sum(axis=1) > 24).mean()
    assert 0.08 < foreground < 0.8


def test_every_category_has_a_known_shape() -> None:
    assert {leaf.shape for leaf in LEAVES} <= set(SHAPES)


@pytest.mark.parametrize("color", sorted(COLORS))
def test_dominant_non_background_color_is_the_product_color(color: str) -> None:
    dom = _dominant_color(render_product_image("prod:000042", "shoe", color))
    palette = {name: np.array(rgb) for name, (rgb, _) in COLORS.items()}
    nearest = min(palette, key=lambda name: float(np.abs(palette[name] - dom).sum()))
    assert nearest == color


def test_a_red_products_image_is_red(small: DemoData, tmp_path: Path) -> None:
    red = next(p for p in small.products if product_color(p) == "red")
    small.render_images(tmp_path)
    r, g, b = _dominant_color((tmp_path / red["image_ref"]).read_bytes())
    assert r > 150 and g < 90 and b < 90


def test_shapes_differ_between_families() -> None:
    shoe = np.asarray(_open(render_product_image("prod:1", "shoe", "red")))
    mug = np.asarray(_open(render_product_image("prod:1", "mug", "red")))
    assert (shoe != mug).any(axis=2).mean() > 0.1


def test_rendering_is_deterministic_and_varies_by_product() -> None:
    a = render_product_image("prod:000007", "shirt", "green")
    assert render_product_image("prod:000007", "shirt", "green") == a
    others = {render_product_image(f"prod:{i:06d}", "shirt", "green") for i in range(20)}
    assert len(others) >= 4  # small per-product offsets


def test_unknown_shape_or_color_raises() -> None:
    with pytest.raises(ValueError, match="valid"):
        render_product_image("prod:1", "spaceship", "red")
    with pytest.raises(ValueError, match="valid"):
        render_product_image("prod:1", "shoe", "octarine")


def test_render_images_writes_one_file_per_product_at_image_ref(
    small: DemoData, tmp_path: Path
) -> None:
    assert small.render_images(tmp_path) == len(small.products)
    files = sorted((tmp_path / "images").iterdir())
    assert len(files) == len(small.products)
    for p in small.products[:20]:
        assert (tmp_path / p["image_ref"]).read_bytes().startswith(PNG_MAGIC)
    again = tmp_path / "again"
    small.render_images(again)
    assert all(
        (again / p["image_ref"]).read_bytes() == (tmp_path / p["image_ref"]).read_bytes()
        for p in small.products
    )


def test_image_filename_is_safe() -> None:
    assert image_filename("prod:000123") == "prod_000123.png"
    assert "/" not in image_filename("prod:../../etc/passwd")
