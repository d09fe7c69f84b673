"""Product titles and descriptions written from a product's attributes.

Several templates per part, chosen by the caller's random generator, so the catalog does not
read like one sentence repeated 6,000 times. Every title names the brand, the model and the
category noun; every description names the material, the use and the style.
"""

from __future__ import annotations

import numpy as np

from .taxonomy import CategorySpec

#: How a use reads after "for" / "made for".
USE_PHRASES: dict[str, str] = {
    "running": "running",
    "trail": "the trail",
    "gym": "the gym",
    "casual": "everyday wear",
    "outdoor": "the outdoors",
    "office": "the office",
    "travel": "travel",
    "yoga": "yoga",
    "home": "home",
    "tennis": "tennis",
    "cycling": "cycling",
    "basketball": "the court",
    "sleep": "sleep",
    "beach": "the beach",
}

_TIER_LINES: dict[str, tuple[str, ...]] = {
    "budget": ("Great value from {brand}.", "An affordable pick from {brand}."),
    "mid": ("A dependable choice from {brand}.", "Solid {brand} quality at a fair price."),
    "premium": ("Premium {brand} build quality.", "{brand} quality with a premium feel."),
    "luxury": ("Top-of-the-line {brand} craftsmanship.", "{brand}'s finest, and priced like it."),
}


def _plural(noun: str) -> bool:
    return noun.endswith("s") and not noun.endswith("ss")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_title(
    rng: np.random.Generator,
    brand: str,
    model: str,
    leaf: CategorySpec,
    color: str,
    material: str,
    style: str,
    use: str,
) -> str:
    """A product title; always contains ``brand``, ``model`` and ``leaf.noun``."""
    noun = leaf.noun
    templates = [
        f"{brand} {model} — {color} {material} {noun}",
        f"{brand} {model} {style} {noun}, {color}",
        f"{_cap(color)} {brand} {model} {noun}",
        f"{brand} {model} {noun} in {color}",
        f"{brand} {model}: {color} {style} {noun} for {USE_PHRASES[use]}",
    ]
    if use in noun:  # not "running shoes for running"
        templates[-1] = f"{brand} {model}: {color} {style} {noun}"
    return templates[int(rng.integers(len(templates)))]


def make_description(
    rng: np.random.Generator,
    brand: str,
    tier: str,
    leaf: CategorySpec,
    color: str,
    material: str,
    style: str,
    uses: list[str],
) -> str:
    """Two to four sentences naming the material, style, use(s) and color."""
    noun = leaf.noun
    this, be = ("These", "are") if _plural(noun) else ("This", "is")
    uses_text = " and ".join(USE_PHRASES[u] for u in uses)
    made = ("made from", "crafted from", "built with")[int(rng.integers(3))]
    body = (
        f"{this} {style} {noun} {be} {made} {material}.",
        f"{_cap(material)} {noun} with {_a(style)} look.",
        f"{_cap(_a(style))} take on {brand}'s {noun}, {made} {material}.",
    )[int(rng.integers(3))]
    purpose = (
        f"Made for {uses_text}.",
        f"Ideal for {uses_text}.",
        f"A good fit for {uses_text}.",
    )[int(rng.integers(3))]
    finish = (
        f"Finished in {color}.",
        f"This one comes in {color}.",
        f"The {color} colorway goes with almost anything.",
    )[int(rng.integers(3))]
    parts = [body, purpose, finish]
    if rng.random() < 0.6:
        lines = _TIER_LINES[tier]
        parts.append(lines[int(rng.integers(len(lines)))].format(brand=brand))
    if rng.random() < 0.5:
        parts[1], parts[2] = parts[2], parts[1]
    return " ".join(parts)


__all__ = ["USE_PHRASES", "make_description", "make_title"]
