"""Product images for the demo store: a category silhouette filled with the product's color.

Every image is a real PNG (RGB, ``IMAGE_SIZE`` square) on a light background, so both the
category family (shoe, shirt, mug, ...) and the color are visible to an image encoder. Rendering
is cheap: each silhouette is drawn once as an anti-aliased mask (``lru_cache``), each
(shape, color) pair is colourised once onto a slightly larger canvas, and a product's image is
one of nine crops of that canvas picked from its id (so items of one kind differ a little);
each crop is PNG-encoded once. Bytes depend only on the product id, shape and color.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .taxonomy import COLORS

IMAGE_SIZE = 128
BACKGROUND = (244, 242, 238)
_MARGIN = 12  # the canvas is IMAGE_SIZE + _MARGIN; crops shift the silhouette by up to this
_SCALE = 4  # supersampling factor for anti-aliased masks

_Draw = ImageDraw.ImageDraw
Pt = tuple[float, float]


def _poly(d: _Draw, pts: Iterable[Pt]) -> None:
    d.polygon([(x * _SCALE, y * _SCALE) for x, y in pts], fill=255)


def _rect(d: _Draw, x0: float, y0: float, x1: float, y1: float, r: float = 0) -> None:
    box = (x0 * _SCALE, y0 * _SCALE, x1 * _SCALE, y1 * _SCALE)
    d.rounded_rectangle(box, radius=r * _SCALE, fill=255)


def _ellipse(d: _Draw, x0: float, y0: float, x1: float, y1: float, width: float = 0) -> None:
    box = (x0 * _SCALE, y0 * _SCALE, x1 * _SCALE, y1 * _SCALE)
    if width:
        d.ellipse(box, outline=255, width=int(width * _SCALE))
    else:
        d.ellipse(box, fill=255)


def _line(d: _Draw, pts: Iterable[Pt], width: float) -> None:
    d.line([(x * _SCALE, y * _SCALE) for x, y in pts], fill=255, width=int(width * _SCALE))


def _arc(
    d: _Draw, box: tuple[float, float, float, float], start: float, end: float, w: float
) -> None:
    d.arc(tuple(v * _SCALE for v in box), start, end, fill=255, width=int(w * _SCALE))


# Each shape draws its body (filled with the product color) and optional details: "light"
# parts (soles, strings) and "dark" parts (screens, zips) in a darker shade of the color.
_ShapeFn = Callable[[_Draw, _Draw, _Draw], None]


def _shoe(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(
        b,
        [
            (8, 92),
            (12, 56),
            (34, 50),
            (50, 28),
            (72, 30),
            (80, 52),
            (104, 60),
            (120, 76),
            (120, 92),
        ],
    )
    _rect(light, 6, 90, 122, 102, 5)
    _line(dark, [(56, 42), (68, 50)], 3)
    _line(dark, [(62, 34), (74, 42)], 3)


def _boot(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(30, 16), (68, 16), (70, 66), (102, 76), (112, 88), (112, 98), (28, 98)])
    _rect(dark, 26, 96, 114, 106, 3)


def _sandal(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 12, 78, 116, 94, 8)
    _poly(b, [(30, 80), (42, 54), (58, 54), (50, 80)])
    _poly(b, [(66, 80), (74, 54), (90, 54), (86, 80)])
    _rect(light, 12, 92, 116, 100, 4)


def _shirt(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(
        b,
        [
            (34, 20),
            (52, 16),
            (64, 24),
            (76, 16),
            (94, 20),
            (118, 44),
            (102, 58),
            (92, 50),
            (92, 110),
            (36, 110),
            (36, 50),
            (26, 58),
            (10, 44),
        ],
    )


def _hoodie(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(
        b,
        [
            (34, 28),
            (94, 28),
            (120, 98),
            (104, 102),
            (92, 62),
            (92, 112),
            (36, 112),
            (36, 62),
            (24, 102),
            (8, 98),
        ],
    )
    _ellipse(b, 42, 8, 86, 44)
    _rect(dark, 46, 80, 82, 100, 4)


def _jacket(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(
        b,
        [
            (34, 18),
            (54, 14),
            (64, 26),
            (74, 14),
            (94, 18),
            (120, 98),
            (104, 102),
            (92, 62),
            (92, 112),
            (36, 112),
            (36, 62),
            (24, 102),
            (8, 98),
        ],
    )
    _line(dark, [(64, 28), (64, 112)], 3)


def _trousers(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(36, 12), (92, 12), (100, 116), (72, 116), (64, 46), (56, 116), (28, 116)])
    _rect(dark, 36, 12, 92, 20)


def _shorts(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(28, 30), (100, 30), (110, 94), (70, 98), (64, 62), (58, 98), (18, 94)])
    _rect(dark, 28, 30, 100, 38)


def _dress(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(46, 16), (82, 16), (80, 42), (94, 60), (112, 114), (16, 114), (34, 60), (48, 42)])
    _rect(dark, 44, 40, 84, 46)


def _sock(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(42, 10), (78, 10), (78, 70), (106, 84), (112, 102), (100, 116), (56, 112), (42, 98)])
    _rect(light, 42, 10, 78, 22)


def _cap(b: _Draw, light: _Draw, dark: _Draw) -> None:
    box = (24 * _SCALE, 30 * _SCALE, 100 * _SCALE, 110 * _SCALE)
    b.pieslice(box, 180, 360, fill=255)
    _poly(b, [(92, 62), (124, 68), (120, 76), (90, 72)])
    _ellipse(dark, 58, 28, 66, 36)


def _mat(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 14, 40, 100, 92)
    _ellipse(b, 84, 40, 114, 92)
    _ellipse(dark, 90, 52, 108, 80, width=3)


def _dumbbell(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 14, 34, 36, 94, 4)
    _rect(b, 92, 34, 114, 94, 4)
    _rect(dark, 34, 58, 94, 70, 2)


def _bike(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _ellipse(b, 6, 60, 54, 108, width=7)
    _ellipse(b, 74, 60, 122, 108, width=7)
    _line(b, [(30, 84), (52, 50), (92, 50), (98, 84), (62, 86), (30, 84)], 6)
    _line(b, [(62, 86), (50, 40)], 6)
    _line(dark, [(42, 38), (58, 38)], 5)
    _line(dark, [(90, 50), (86, 34), (98, 32)], 4)


def _racket(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _ellipse(b, 32, 6, 96, 82, width=8)
    _rect(b, 58, 78, 70, 124, 3)
    for k in range(5):
        _line(light, [(44 + k * 10, 14), (44 + k * 10, 74)], 1)
        _line(light, [(38, 24 + k * 12), (90, 24 + k * 12)], 1)


def _backpack(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 26, 26, 102, 116, 18)
    _arc(b, (46, 8, 82, 44), 180, 360, 6)
    _rect(dark, 40, 72, 88, 106, 6)


def _bottle(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 42, 30, 86, 120, 10)
    _rect(b, 52, 14, 76, 34)
    _rect(dark, 50, 6, 78, 18, 3)


def _ball(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _ellipse(b, 18, 18, 110, 110)
    _poly(dark, [(64, 48), (80, 60), (74, 78), (54, 78), (48, 60)])


def _headphones(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _arc(b, (22, 14, 106, 98), 180, 360, 10)
    _rect(b, 18, 56, 32, 60)
    _rect(b, 96, 56, 110, 60)
    _rect(b, 12, 56, 42, 104, 10)
    _rect(b, 86, 56, 116, 104, 10)


def _earbuds(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _ellipse(b, 16, 30, 56, 70)
    _rect(b, 30, 60, 44, 110, 6)
    _ellipse(b, 72, 30, 112, 70)
    _rect(b, 84, 60, 98, 110, 6)
    _ellipse(dark, 28, 42, 44, 58)
    _ellipse(dark, 84, 42, 100, 58)


def _watch(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 46, 4, 82, 124, 6)
    _rect(b, 32, 32, 96, 96, 14)
    _rect(dark, 40, 40, 88, 88, 10)


def _phone(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 34, 8, 94, 120, 12)
    _rect(dark, 42, 16, 62, 36, 5)


def _speaker(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 28, 16, 100, 116, 16)
    _ellipse(dark, 42, 54, 86, 98)
    _ellipse(dark, 54, 24, 74, 44)


def _mug(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 24, 32, 86, 108, 8)
    _ellipse(b, 72, 46, 112, 90, width=10)


def _lamp(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _poly(b, [(40, 12), (88, 12), (106, 58), (22, 58)])
    _rect(b, 60, 56, 68, 104)
    _ellipse(b, 34, 98, 94, 116)


def _pillow(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 16, 28, 112, 100, 24)
    _line(dark, [(30, 44), (98, 84)], 2)


def _blanket(b: _Draw, light: _Draw, dark: _Draw) -> None:
    _rect(b, 14, 34, 114, 98, 6)
    _rect(light, 14, 50, 114, 56)
    _rect(light, 14, 76, 114, 82)


SHAPES: dict[str, _ShapeFn] = {
    "backpack": _backpack, "ball": _ball, "bike": _bike, "blanket": _blanket, "boot": _boot,
    "bottle": _bottle, "cap": _cap, "dress": _dress, "dumbbell": _dumbbell, "earbuds": _earbuds,
    "headphones": _headphones, "hoodie": _hoodie, "jacket": _jacket, "lamp": _lamp, "mat": _mat,
    "mug": _mug, "phone": _phone, "pillow": _pillow, "racket": _racket, "sandal": _sandal,
    "shirt": _shirt, "shoe": _shoe, "shorts": _shorts, "sock": _sock, "speaker": _speaker,
    "trousers": _trousers, "watch": _watch,
}  # fmt: skip


@cache
def _masks(shape: str) -> tuple[Image.Image, Image.Image, Image.Image, Image.Image]:
    """(body, light, dark, outline) masks, mode ``L``, ``IMAGE_SIZE`` square."""
    try:
        draw_fn = SHAPES[shape]
    except KeyError:
        raise ValueError(f"unknown shape {shape!r}; valid: {sorted(SHAPES)}") from None
    big = IMAGE_SIZE * _SCALE
    layers = [Image.new("L", (big, big), 0) for _ in range(3)]
    draw_fn(*(ImageDraw.Draw(layer) for layer in layers))
    size, lanczos = (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS
    body, light, dark = (layer.resize(size, lanczos) for layer in layers)
    edge = ImageChops.subtract(
        body.filter(ImageFilter.MaxFilter(3)), body.filter(ImageFilter.MinFilter(3))
    )
    return body, light, dark, edge


def _shade(rgb: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return (int(rgb[0] * k), int(rgb[1] * k), int(rgb[2] * k))


@lru_cache(maxsize=512)
def _canvas(shape: str, color: str) -> Image.Image:
    """The colourised silhouette on a canvas ``_MARGIN`` pixels larger than an image."""
    rgb = COLORS[color][0]
    body, light, dark, edge = _masks(shape)
    is_dark = sum(rgb) < 150
    tile = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), BACKGROUND)
    tile.paste(rgb, mask=body)
    tile.paste((250, 250, 250) if not is_dark else (200, 200, 200), mask=light)
    tile.paste(_shade(rgb, 0.6) if not is_dark else (85, 85, 90), mask=dark)
    tile.paste(_shade(rgb, 0.5) if not is_dark else (70, 70, 74), mask=edge)
    side = IMAGE_SIZE + _MARGIN
    canvas = Image.new("RGB", (side, side), BACKGROUND)
    canvas.paste(tile, (_MARGIN // 2, _MARGIN // 2))
    return canvas


#: Crop offsets of the variants: centred, then shifted toward each corner.
_OFFSETS = ((6, 6), (0, 0), (12, 0), (0, 12), (12, 12), (6, 0), (0, 6), (12, 6), (6, 12))


@lru_cache(maxsize=4096)
def _encoded(shape: str, color: str, variant: int) -> bytes:
    dx, dy = _OFFSETS[variant]
    img = _canvas(shape, color).crop((dx, dy, dx + IMAGE_SIZE, dy + IMAGE_SIZE))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=3)
    return buf.getvalue()


def render_product_image(product_id: str, shape: str, color: str) -> bytes:
    """PNG bytes of one product's image; a pure function of its arguments.

    The silhouette sits at one of ``len(_OFFSETS)`` positions picked by a CRC of the id, so
    products of one shape and color share at most that many distinct images (and encodings).
    """
    if color not in COLORS:
        raise ValueError(f"unknown color {color!r}; valid: {sorted(COLORS)}")
    return _encoded(shape, color, zlib.crc32(product_id.encode()) % len(_OFFSETS))


def image_filename(product_id: str) -> str:
    """A file name safe on every OS for a product id (``prod:000123`` -> ``prod_000123.png``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in product_id)
    return f"{safe}.png"


def write_images(items: Iterable[tuple[str, str, str]], data_dir: Path) -> int:
    """Write ``(product_id, shape, color)`` images to ``data_dir/images``; returns the count."""
    out = Path(data_dir) / "images"
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    for product_id, shape, color in items:
        (out / image_filename(product_id)).write_bytes(
            render_product_image(product_id, shape, color)
        )
        n += 1
    return n


__all__ = [
    "BACKGROUND",
    "IMAGE_SIZE",
    "SHAPES",
    "image_filename",
    "render_product_image",
    "write_images",
]
