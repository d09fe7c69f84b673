"""Hand-made features that join the sentence embedding at the classifier input.

They carry what a sentence embedding of the message alone cannot see (is there a previous
turn? does the message bring a *new* category?) and sharpen cues the rules already found.
"""

from __future__ import annotations

import numpy as np

from models.intent._text import Token
from models.intent.intent import Intent, Mention, Preference, PriceConstraint, Reference

_QUESTION_START = {
    "what", "whats", "which", "who", "whos", "when", "where", "why", "how", "does", "do", "is",
    "are", "can", "could", "will", "would", "did", "was", "were", "has", "have", "should",
}  # fmt: skip
_COMPARE = {
    "compare", "comparison", "vs", "versus", "difference", "differ", "different", "better",
    "worse", "compair", "比较", "哪个", "pros", "cons", "or",
}  # fmt: skip
_FEEDBACK = {
    "love", "loved", "like", "liked", "hate", "hated", "great", "amazing", "perfect", "terrible",
    "awful", "bought", "boring", "favourite", "favorite", "own", "returned", "disappointing",
    "enjoy", "enjoyed", "ugly", "nice", "spot", "meh", "good", "thumbs", "comfy", "watched",
    "seen", "fell", "好看", "喜欢", "fan", "already", "happy", "impressed", "broke", "bad",
}  # fmt: skip
_SMALLTALK = {
    "hi", "hello", "hey", "thanks", "thank", "bye", "help", "order", "account", "joke",
    "weather", "robot", "human", "name", "你好", "谢谢", "morning", "ok", "okay", "cool", "lol",
    "yes", "no", "package", "ship", "returns", "pay", "discount", "browsing", "legit",
}  # fmt: skip
_ASK_VERBS = {
    "recommend", "suggest", "show", "find", "looking", "need", "want", "give", "get", "any",
    "推荐", "找", "想要", "reccomend", "recomend", "sho", "searching", "something",
}  # fmt: skip

FEATURE_NAMES = (
    "has_previous",
    "has_reference",
    "two_ordinals",
    "similar_reference",
    "brand_reference",
    "price_absolute",
    "price_relative",
    "clear_constraints",
    "any_negated",
    "any_mention",
    "category_mention",
    "new_category",
    "product_mention",
    "question",
    "compare_cue",
    "feedback_cue",
    "smalltalk_cue",
    "request_cue",
    "no_slots",
    "followup_without_category",
    "short",
)


def rule_features(
    message: str,
    tokens: list[Token],
    mentions: tuple[Mention, ...],
    references: tuple[Reference, ...],
    price: PriceConstraint | None,
    clear: bool,
    previous: Intent | None,
    preferences: tuple[Preference, ...] = (),
) -> np.ndarray:
    """``(len(FEATURE_NAMES),)`` float32 vector of 0/1 cues (a soft wish such as "a gift for
    my dad" is a slot: the message asks for something)."""
    words = [t.text.casefold() for t in tokens if t.kind in ("word", "cjk", "num")]
    joined = "".join(t.text for t in tokens if t.kind == "cjk")
    wordset = (
        set(words)
        | {t.norm for t in tokens if t.kind == "word"}
        | {joined[k : k + 2] for k in range(len(joined) - 1)}
    )
    cats = {m.entity_id or m.text.casefold() for m in mentions if m.label_hint == "Category"}
    prev_cats = (
        {m.entity_id or m.text.casefold() for m in previous.mentions if m.label_hint == "Category"}
        if previous is not None
        else set()
    )
    n_ord = sum(r.kind in ("ordinal", "last") for r in references)
    has_slots = bool(mentions or references or price is not None or preferences)
    f = [
        previous is not None,
        bool(references),
        n_ord >= 2,
        any(r.kind == "similar" for r in references),
        any(r.kind in ("other_brand", "same_brand", "that_brand") for r in references),
        price is not None and (price.min is not None or price.max is not None),
        price is not None and price.relative is not None,
        clear,
        any(m.negated for m in mentions) or any(r.negated for r in references),
        bool(mentions),
        bool(cats),
        previous is not None and bool(cats - prev_cats),
        any(m.label_hint == "Product" for m in mentions),
        "?" in message or "？" in message or (bool(words) and words[0] in _QUESTION_START),
        bool(wordset & _COMPARE),
        bool(wordset & _FEEDBACK),
        bool(wordset & _SMALLTALK),
        bool(wordset & _ASK_VERBS),
        not has_slots,
        previous is not None and not cats,
        len(words) <= 3,
    ]
    return np.asarray(f, dtype=np.float32)


__all__ = ["FEATURE_NAMES", "rule_features"]
