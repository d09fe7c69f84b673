"""Price constraints: amounts (digits, words, Chinese numerals, currency marks) and the
comparators around them, "cheaper"/"pricier" (relative to the last results) and price words
with no number ("cheap", "not too expensive", "premium": a price *level*)."""

from __future__ import annotations

from dataclasses import dataclass

from models.intent._phrases import (
    ends_with,
    norm_phrases,
    norm_words,
    starts_with,
    words,
)
from models.intent._text import NumberSpan, Token, find_numbers
from models.intent.intent import PriceConstraint

_CURRENCY_SYMBOL = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY"}
_CURRENCY_WORD = {
    "dollar": "USD", "buck": "USD", "usd": "USD", "euro": "EUR", "eur": "EUR",
    "pound": "GBP", "quid": "GBP", "gbp": "GBP", "rmb": "CNY", "yuan": "CNY", "cny": "CNY",
    "块": "CNY", "元": "CNY", "刀": "USD",
}  # fmt: skip
#: A number followed by one of these is not a price.
_NON_PRICE_UNITS = norm_words({
    "size", "inch", "cm", "mm", "kg", "lb", "gb", "tb", "mb", "hour", "minute", "min", "year",
    "star", "day", "week", "month", "mile", "km", "k", "liter", "litre", "l", "ml", "w",
    "watt", "mah", "hz", "oz", "pair", "person", "people", "movie", "film", "one", "item",
    "result", "option", "seater", "seat", "s", "%", "x", "th", "st", "nd", "rd", "码", "号",
})  # fmt: skip
#: A number preceded by one of these is not a price.
_NON_PRICE_BEFORE = norm_words({
    "size", "number", "#", "option", "item", "top", "no", "pick", "result", "choice",
    "version", "episode", "season", "part", "the", "iphone", "galaxy", "pixel", "series",
    "gen", "generation", "model", "v", "ps", "xbox", "rated", "since", "from", "of", "in",
})  # fmt: skip
_MAX_BEFORE = norm_phrases({
    ("under",), ("below",), ("less", "than"), ("lower", "than"), ("cheaper", "than"),
    ("at", "most"), ("max",), ("maximum",), ("up", "to"), ("no", "more", "than"),
    ("not", "more", "than"), ("within",), ("budget",), ("budget", "of"), ("budget", "is"),
    ("spend",), ("for",), ("max", "of"), ("no", "higher", "than"), ("below", "or", "at"),
    ("not", "over"), ("not", "above"), ("<",), ("<", "="), ("≤",), ("低",), ("低", "于"),
    ("少", "于"), ("不", "超", "过"), ("under", "about"), ("under", "around"), ("tops",),
    ("no", "pricier", "than"), ("less", "then"), ("lesser", "than"), ("undr",), ("bellow",),
    ("spending",), ("afford",), ("only", "have"), ("got",), ("have",), ("at", "or", "below"),
})  # fmt: skip
_MIN_BEFORE = norm_phrases({
    ("over",), ("above",), ("more", "than"), ("at", "least"), ("min",), ("minimum",),
    ("higher", "than"), ("pricier", "than"), ("starting", "at"), ("starting", "from"),
    ("no", "less", "than"), ("not", "less", "than"), (">",), (">", "="), ("≥",), ("高", "于"),
    ("超", "过"), ("more", "then"), ("upwards", "of"), ("north", "of"),
})  # fmt: skip
_AROUND_BEFORE = norm_phrases({
    ("around",), ("about",), ("approximately",), ("roughly",), ("~",), ("circa",),
    ("approx",), ("near",), ("close", "to"), ("somewhere", "around"), ("大", "概"), ("大", "约"),
    ("arround",), ("aroud",), ("something", "like"),
})  # fmt: skip
_MAX_AFTER = norm_phrases({
    ("or", "less"), ("or", "under"), ("and", "under"), ("and", "below"), ("or", "below"),
    ("max",), ("maximum",), ("top",), ("at", "most"), ("or", "cheaper"), ("以", "下"),
    ("以", "内"), ("之", "内"), ("budget",), ("or", "lower"),
})  # fmt: skip
_MIN_AFTER = norm_phrases({
    ("or", "more"), ("and", "up"), ("and", "above"), ("or", "above"), ("plus",), ("+",),
    ("at", "least"), ("以", "上"), ("and", "over"), ("or", "higher"), ("or", "over"),
    ("upwards",), ("and", "upwards"), ("or", "above"),
})  # fmt: skip
_AROUND_AFTER = {("or", "so"), ("ish",), ("左", "右"), ("上", "下"), ("give", "or", "take")}
_RANGE_JOIN = {"-", "–", "to", "and", "~", "到", "至", "or"}
_CHEAPER = norm_phrases({
    ("cheaper",), ("less", "expensive"), ("more", "affordable"), ("lower", "price"),
    ("lower", "priced"), ("too", "expensive"), ("too", "pricey"), ("less", "pricey"),
    ("cheaper",), ("cheeper",), ("chaeper",), ("less", "money"), ("便", "宜", "点"),
    ("便", "宜", "一", "点"), ("更", "便", "宜"), ("太", "贵"), ("cheapest",),
    ("budget", "friendlier"),
    ("lower", "budget"), ("not", "so", "expensive"), ("less", "costly"),
    # "too much" alone is not about money ("not too much action")
    ("costs", "too", "much"), ("cost", "too", "much"), ("too", "much", "money"),
    ("pay", "too", "much"), ("paying", "too", "much"), ("spend", "too", "much"),
    ("costs", "less"), ("cost", "less"),
    # a complaint about the results: "these are pricey"
    ("are", "pricey"), ("are", "expensive"), ("is", "pricey"), ("is", "expensive"),
    ("are", "so", "expensive"), ("are", "so", "pricey"), ("look", "expensive"),
})  # fmt: skip
_PRICIER = norm_phrases({
    ("pricier",), ("more", "expensive"), ("higher", "end"), ("more", "premium"),
    ("fancier",), ("too", "cheap"), ("higher", "price"), ("higher", "priced"), ("贵", "一", "点"),
    ("更", "贵"), ("upscale",), ("spend", "more"), ("more", "upmarket"), ("priciest",),
    ("pricer",), ("more", "pricey"), ("costlier",),
})  # fmt: skip


#: Price words with no number: a wish for the low or the high end of what fits.
_LOW = norm_phrases({
    ("cheap",), ("cheaply",), ("dirt", "cheap"), ("affordable",), ("inexpensive",),
    ("budget",), ("budget", "friendly"), ("budget", "-", "friendly"), ("low", "cost"),
    ("low", "-", "cost"), ("low", "priced"), ("low", "-", "priced"), ("bargain",),
    ("economical",), ("good", "value"), ("value", "for", "money"), ("reasonably", "priced"),
    ("reasonable", "price"), ("not", "too", "expensive"), ("not", "too", "pricey"),
    ("not", "too", "costly"), ("not", "so", "expensive"), ("not", "expensive"),
    ("not", "very", "expensive"), ("not", "pricey"), ("break", "the", "bank"), ("便", "宜"),
    ("on", "a", "budget"), ("wallet", "friendly"), ("wallet", "-", "friendly"),
})  # fmt: skip
_HIGH = norm_phrases({
    ("premium",), ("expensive",), ("pricey",), ("luxury",), ("luxurious",), ("high", "end"),
    ("high", "-", "end"), ("top", "of", "the", "line"), ("top", "-", "of", "-", "the", "-", "line"),
    ("top", "end"), ("top", "-", "end"), ("designer",), ("fancy",), ("not", "cheap"),
    ("money", "no", "object"), ("best", "money", "can", "buy"), ("高", "端"), ("贵",),
})  # fmt: skip
#: "budget" is a level word unless it introduces an amount ("budget is 300", "my budget").
_BUDGET_AMOUNT_NEXT = norm_words(
    {"is", "of", "around", "about", "for", "was", "=", ":", "up", "max", "at"}
)
_BUDGET_OWNER = norm_words({"my", "our", "your", "the", "no", "a", "her", "his", "their", "that"})


@dataclass(slots=True)
class _Amount:
    value: float
    i: int  # first token, currency symbol included
    j: int  # one past the last token, currency word included
    currency: str | None


def _budget_is_amount(tokens: list[Token], i: int, k: int) -> bool:
    """ "budget is 300", "my budget", "no budget": the word "budget" that is not a level."""
    if k != 1:
        return False  # "budget friendly"
    before = tokens[i - 1].norm if i > 0 else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else None
    if before in _BUDGET_OWNER:
        return True
    return after is not None and (after.kind == "num" or after.norm in _BUDGET_AMOUNT_NEXT)


def _price_words(tokens: list[Token]) -> tuple[str | None, str | None]:
    """``(relative, level)``: "cheaper"/"pricier" and "low"/"high" from price words.

    Scans left to right taking the longest phrase of any table at each token, so "not too
    expensive" is a low level, not "too expensive" (cheaper) nor "expensive" (high), and
    "more premium" asks for pricier results, not a high level. A comparison between two
    results ("is the 2nd cheaper than the 1st") sets nothing.
    """
    tables = (
        ("relative", "cheaper", _CHEAPER),
        ("relative", "pricier", _PRICIER),
        ("level", "low", _LOW),
        ("level", "high", _HIGH),
    )
    found: dict[str, str] = {}
    i = 0
    while i < len(tokens):
        best = (0, "", "")
        for slot, value, phrases in tables:
            k = starts_with(tokens, i, phrases)
            if k > best[0]:
                best = (k, slot, value)
        k, slot, value = best
        if not k:
            i += 1
            continue
        nxt = [t.norm for t in tokens[i + k : i + k + 2]]
        # "cheaper than the 1st" compares results; "cheaper than these" still asks for less
        compares = nxt[:1] in (["than"], ["then"]) and nxt[1:] not in (
            ["these"],
            ["those"],
            ["them"],
        )
        budget = tokens[i].norm == "budget" and _budget_is_amount(tokens, i, k)
        if not compares and not budget:
            found.setdefault(slot, value)
        i += k
    relative, level = found.get("relative"), found.get("level")
    if (relative, level) in (("cheaper", "high"), ("pricier", "low")):
        level = None  # "pricey, anything cheaper?": the level word describes the old results
    return relative, level


def _amounts(tokens: list[Token], numbers: list[NumberSpan]) -> list[_Amount]:
    out = []
    for n in numbers:
        i, j, cur = n.i, n.j, None
        if i > 0 and tokens[i - 1].text in _CURRENCY_SYMBOL:
            i -= 1
            cur = _CURRENCY_SYMBOL[tokens[i].text]
        if j < len(tokens):
            nxt = tokens[j]
            if nxt.text in _CURRENCY_SYMBOL:
                cur, j = _CURRENCY_SYMBOL[nxt.text], j + 1
            elif nxt.norm in _CURRENCY_WORD:
                cur, j = _CURRENCY_WORD[nxt.norm], j + 1
            elif (
                nxt.norm in ("us", "u")
                and j + 1 < len(tokens)
                and tokens[j + 1].norm
                in (
                    "dollar",
                    "buck",
                )
            ):
                cur, j = "USD", j + 2
        if cur is None:
            after = tokens[j].norm if j < len(tokens) else ""
            before = tokens[i - 1].norm if i > 0 else ""
            if after in _NON_PRICE_UNITS or before in _NON_PRICE_BEFORE:
                continue
        out.append(_Amount(n.value, i, j, cur))
    return out


def parse_price(
    tokens: list[Token],
    numbers: list[NumberSpan] | None = None,
    *,
    skip: set[int] | frozenset[int] = frozenset(),
) -> PriceConstraint | None:
    """Absolute bounds from comparators around amounts, plus "cheaper"/"pricier".

    Numbers on tokens in ``skip`` (inside a mention: "Air Max 90", "Apollo 13") are not prices.
    """
    if numbers is None:
        numbers = find_numbers(tokens)
    numbers = [n for n in numbers if not any(k in skip for k in range(n.i, n.j))]
    amounts = _amounts(tokens, numbers)
    lo: float | None = None
    hi: float | None = None
    currency: str | None = None
    used: set[int] = set()
    # ranges first: "between 50 and 80", "50-80 dollars", "from 50 to 80", "50到80块"
    for k in range(len(amounts) - 1):
        a, b = amounts[k], amounts[k + 1]
        gap = words(tokens, a.j, b.i)
        if len(gap) != 1 or gap[0] not in _RANGE_JOIN:
            continue
        before = words(tokens, a.i - 1, a.i)
        explicit = before in (("between",), ("from",), ("btw",))
        if gap[0] in ("and", "or") and not explicit:
            continue
        if a.value >= b.value and not explicit:
            continue
        lo, hi = min(a.value, b.value), max(a.value, b.value)
        currency = a.currency or b.currency
        used.update((k, k + 1))
    for k, a in enumerate(amounts):
        if k in used:
            continue
        kind = None
        if ends_with(tokens, a.i, _AROUND_BEFORE) or starts_with(tokens, a.j, _AROUND_AFTER):
            kind = "around"
        elif ends_with(tokens, a.i, _MAX_BEFORE) or starts_with(tokens, a.j, _MAX_AFTER):
            kind = "max"
        elif ends_with(tokens, a.i, _MIN_BEFORE) or (
            starts_with(tokens, a.j, _MIN_AFTER)
            and (a.currency is not None or tokens[a.j].norm not in ("plus", "+"))
        ):
            kind = "min"
        elif a.currency is not None:
            kind = "max"  # a bare amount is a budget: "100 bucks", "€89"
        if kind is None:
            continue
        currency = currency or a.currency
        if kind == "max":
            hi = a.value if hi is None else min(hi, a.value)
        elif kind == "min":
            lo = a.value if lo is None else max(lo, a.value)
        else:
            lo, hi = round(a.value * 0.8, 2), round(a.value * 1.2, 2)
    relative, level = _price_words(tokens)
    if lo is not None or hi is not None:
        relative = None
    if lo is None and hi is None and relative is None and level is None:
        return None
    return PriceConstraint(min=lo, max=hi, currency=currency, relative=relative, level=level)


__all__ = ["parse_price"]
