"""Deterministic rules: price constraints, references to earlier results, negation scope and
"start over" detection. All work on :func:`models.intent._text.tokenize` output."""

from __future__ import annotations

from dataclasses import dataclass

from models.intent._text import NumberSpan, Token, find_numbers, normalize_word
from models.intent.intent import PriceConstraint, Reference


def _n(words: set[str]) -> set[str]:
    return {normalize_word(w) for w in words}


def _np(phrases: set[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Phrases keyed like message tokens (see :func:`normalize_word`)."""
    return {tuple(normalize_word(w) for w in p) for p in phrases}


# ---------------------------------------------------------------------------------------------
# price
# ---------------------------------------------------------------------------------------------

_CURRENCY_SYMBOL = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY"}
_CURRENCY_WORD = {
    "dollar": "USD", "buck": "USD", "usd": "USD", "euro": "EUR", "eur": "EUR",
    "pound": "GBP", "quid": "GBP", "gbp": "GBP", "rmb": "CNY", "yuan": "CNY", "cny": "CNY",
    "块": "CNY", "元": "CNY", "刀": "USD",
}  # fmt: skip
#: A number followed by one of these is not a price.
_NON_PRICE_UNITS = _n({
    "size", "inch", "cm", "mm", "kg", "lb", "gb", "tb", "mb", "hour", "minute", "min", "year",
    "star", "day", "week", "month", "mile", "km", "k", "liter", "litre", "l", "ml", "w",
    "watt", "mah", "hz", "oz", "pair", "person", "people", "movie", "film", "one", "item",
    "result", "option", "seater", "seat", "s", "%", "x", "th", "st", "nd", "rd", "码", "号",
})  # fmt: skip
#: A number preceded by one of these is not a price.
_NON_PRICE_BEFORE = _n({
    "size", "number", "#", "option", "item", "top", "no", "pick", "result", "choice",
    "version", "episode", "season", "part", "the", "iphone", "galaxy", "pixel", "series",
    "gen", "generation", "model", "v", "ps", "xbox", "rated", "since", "from", "of", "in",
})  # fmt: skip
_MAX_BEFORE = _np({
    ("under",), ("below",), ("less", "than"), ("lower", "than"), ("cheaper", "than"),
    ("at", "most"), ("max",), ("maximum",), ("up", "to"), ("no", "more", "than"),
    ("not", "more", "than"), ("within",), ("budget",), ("budget", "of"), ("budget", "is"),
    ("spend",), ("for",), ("max", "of"), ("no", "higher", "than"), ("below", "or", "at"),
    ("not", "over"), ("not", "above"), ("<",), ("<", "="), ("≤",), ("低",), ("低", "于"),
    ("少", "于"), ("不", "超", "过"), ("under", "about"), ("under", "around"), ("tops",),
    ("no", "pricier", "than"), ("less", "then"), ("lesser", "than"), ("undr",), ("bellow",),
    ("spending",), ("afford",), ("only", "have"), ("got",), ("have",), ("at", "or", "below"),
})  # fmt: skip
_MIN_BEFORE = _np({
    ("over",), ("above",), ("more", "than"), ("at", "least"), ("min",), ("minimum",),
    ("higher", "than"), ("pricier", "than"), ("starting", "at"), ("starting", "from"),
    ("no", "less", "than"), ("not", "less", "than"), (">",), (">", "="), ("≥",), ("高", "于"),
    ("超", "过"), ("more", "then"), ("upwards", "of"), ("north", "of"),
})  # fmt: skip
_AROUND_BEFORE = _np({
    ("around",), ("about",), ("approximately",), ("roughly",), ("~",), ("circa",),
    ("approx",), ("near",), ("close", "to"), ("somewhere", "around"), ("大", "概"), ("大", "约"),
    ("arround",), ("aroud",), ("something", "like"),
})  # fmt: skip
_MAX_AFTER = _np({
    ("or", "less"), ("or", "under"), ("and", "under"), ("and", "below"), ("or", "below"),
    ("max",), ("maximum",), ("top",), ("at", "most"), ("or", "cheaper"), ("以", "下"),
    ("以", "内"), ("之", "内"), ("budget",), ("or", "lower"),
})  # fmt: skip
_MIN_AFTER = _np({
    ("or", "more"), ("and", "up"), ("and", "above"), ("or", "above"), ("plus",), ("+",),
    ("at", "least"), ("以", "上"), ("and", "over"), ("or", "higher"), ("or", "over"),
    ("upwards",), ("and", "upwards"), ("or", "above"),
})  # fmt: skip
_AROUND_AFTER = {("or", "so"), ("ish",), ("左", "右"), ("上", "下"), ("give", "or", "take")}
_RANGE_JOIN = {"-", "–", "to", "and", "~", "到", "至", "or"}
_CHEAPER = _np({
    ("cheaper",), ("less", "expensive"), ("more", "affordable"), ("lower", "price"),
    ("lower", "priced"), ("too", "expensive"), ("too", "pricey"), ("less", "pricey"),
    ("cheaper",), ("cheeper",), ("chaeper",), ("less", "money"), ("便", "宜", "点"),
    ("便", "宜", "一", "点"), ("更", "便", "宜"), ("太", "贵"), ("cheapest",),
    ("budget", "friendlier"),
    ("lower", "budget"), ("not", "so", "expensive"), ("less", "costly"), ("too", "much"),
    ("costs", "less"), ("cost", "less"), ("inexpensive",),
})  # fmt: skip
_PRICIER = _np({
    ("pricier",), ("more", "expensive"), ("higher", "end"), ("high", "end"), ("more", "premium"),
    ("fancier",), ("too", "cheap"), ("higher", "price"), ("higher", "priced"), ("贵", "一", "点"),
    ("更", "贵"), ("upscale",), ("spend", "more"), ("more", "upmarket"), ("priciest",),
    ("pricer",), ("more", "pricey"), ("costlier",),
})  # fmt: skip


def _words(tokens: list[Token], i: int, j: int) -> tuple[str, ...]:
    return tuple(t.norm for t in tokens[max(i, 0) : max(j, 0)])


def _ends_with(tokens: list[Token], end: int, phrases: set[tuple[str, ...]]) -> int:
    """Length of the longest phrase in ``phrases`` that ends right before ``end`` (0: none)."""
    best = 0
    for p in phrases:
        if len(p) > best and end - len(p) >= 0 and _words(tokens, end - len(p), end) == p:
            best = len(p)
    return best


def _starts_with(tokens: list[Token], start: int, phrases: set[tuple[str, ...]]) -> int:
    best = 0
    for p in phrases:
        if len(p) > best and _words(tokens, start, start + len(p)) == p:
            best = len(p)
    return best


def _find_phrase(tokens: list[Token], phrases: set[tuple[str, ...]]) -> int | None:
    for i in range(len(tokens)):
        if _starts_with(tokens, i, phrases):
            return i
    return None


@dataclass(slots=True)
class _Amount:
    value: float
    i: int  # first token, currency symbol included
    j: int  # one past the last token, currency word included
    currency: str | None


def _relative(tokens: list[Token]) -> str | None:
    """ "cheaper"/"pricier", unless it compares two things ("is the 2nd cheaper than the 1st")."""
    for kind, phrases in (("cheaper", _CHEAPER), ("pricier", _PRICIER)):
        for i in range(len(tokens)):
            k = _starts_with(tokens, i, phrases)
            if not k:
                continue
            nxt = [t.norm for t in tokens[i + k : i + k + 2]]
            # "cheaper than the 1st" compares results; "cheaper than these" still asks for less
            if nxt[:1] in (["than"], ["then"]) and nxt[1:] not in (["these"], ["those"], ["them"]):
                continue
            return kind
    return None


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
        gap = _words(tokens, a.j, b.i)
        if len(gap) != 1 or gap[0] not in _RANGE_JOIN:
            continue
        before = _words(tokens, a.i - 1, a.i)
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
        if _ends_with(tokens, a.i, _AROUND_BEFORE) or _starts_with(tokens, a.j, _AROUND_AFTER):
            kind = "around"
        elif _ends_with(tokens, a.i, _MAX_BEFORE) or _starts_with(tokens, a.j, _MAX_AFTER):
            kind = "max"
        elif _ends_with(tokens, a.i, _MIN_BEFORE) or (
            _starts_with(tokens, a.j, _MIN_AFTER)
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
    relative = None
    if lo is None and hi is None:
        relative = _relative(tokens)
    if lo is None and hi is None and relative is None:
        return None
    return PriceConstraint(min=lo, max=hi, currency=currency, relative=relative)


# ---------------------------------------------------------------------------------------------
# references
# ---------------------------------------------------------------------------------------------

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
    "ninth": 8, "9th": 8, "tenth": 9, "10th": 9, "top": 0, "frist": 0, "secnd": 1, "seccond": 1,
    "thrid": 2, "forth": 3, "第一": 0, "第二": 1, "第三": 2, "第四": 3, "第五": 4,
}  # fmt: skip
_ONE_WORDS = _n({
    "one", "pair", "option", "item", "result", "pick", "movie", "film", "shoe", "choice",
    "suggestion", "product", "recommendation", "model", "thing", "of", "个", "款", "双", "部",
})  # fmt: skip
#: Words after "the first"/"the last" that do not make it a reference to a result.
_NOT_ITEM_NOUNS = _n({
    "time", "times", "year", "years", "day", "days", "week", "month", "half", "place", "date",
    "two", "three", "four", "five", "few", "couple", "minute", "hour", "season", "episode",
    "and", "or", "but", "is", "was", "of", "in", "on", "at", "to", "for", "with", "from",
})  # fmt: skip
_NUMBERED = _n({"number", "no", "#", "option", "item", "result", "choice", "pick"})
_SIMILAR = _np({
    ("like",), ("similar", "to"), ("similar",), ("more", "like"), ("something", "like"),
    ("along", "the", "lines", "of"), ("same", "style", "as"), ("close", "to"), ("类", "似"),
    ("像",), ("simmilar", "to"), ("similiar", "to"),
})  # fmt: skip
_DEMONSTRATIVE_SIMILAR = _np({
    ("like", "that"), ("like", "this"), ("like", "these"), ("like", "those"),
    ("like", "that", "one"), ("like", "this", "one"), ("similar", "to", "that"),
    ("similar", "to", "this"), ("similar", "to", "these"), ("similar", "to", "those"),
    ("similar", "one"), ("similar", "ones"), ("similar", "item"), ("similar", "stuff"),
    ("similar", "thing"), ("similar", "movie"), ("similar", "film"), ("similar", "shoe"),
    ("similar", "product"),
})  # fmt: skip
_OTHER_BRAND = _np({
    ("another", "brand"), ("different", "brand"), ("other", "brand"), ("another", "make"),
    ("different", "make"), ("other", "than", "that", "brand"), ("some", "other", "brand"),
    ("new", "brand"), ("换", "个", "牌", "子"), ("别", "的", "牌", "子"), ("diffrent", "brand"),
    ("different", "label"), ("any", "other", "brand"),
})  # fmt: skip
_SAME_BRAND = _np({
    ("same", "brand"), ("that", "brand"), ("this", "brand"), ("their", "brand"),
    ("same", "make"), ("same", "label"), ("同", "一", "个", "牌", "子"), ("同", "牌", "子"),
    ("those", "brand"), ("by", "them"), ("from", "them"),
})  # fmt: skip


_LIKE_VERB_BEFORE = _n({
    "i", "id", "we", "you", "they", "he", "she", "dont", "didnt", "doesnt", "really", "also",
    "do", "did", "would", "not", "never", "wouldnt", "might", "will", "to", "kinda", "wife",
    "husband", "kid", "son", "daughter", "totally", "actually", "just", "may", "我",
})  # fmt: skip


@dataclass(slots=True)
class RefSpan:
    """A reference and the tokens ``[i, j)`` it covers (for negation scope)."""

    ref: Reference
    i: int
    j: int


def _ordinal_at(tokens: list[Token], i: int) -> tuple[int, int] | None:
    """``(index, end)`` if an ordinal reference starts at token ``i``."""
    n = len(tokens)
    t = tokens[i]
    # Chinese "第二个"
    if t.text == "第" and i + 1 < n and ("第" + tokens[i + 1].text) in _ORDINALS:
        return _ORDINALS["第" + tokens[i + 1].text], i + 2
    if (
        t.kind == "num"
        and i + 1 < n
        and tokens[i + 1].norm in ("st", "nd", "rd", "th")
        and t.text.isdigit()
        and 1 <= int(t.text) <= 20
    ):
        return int(t.text) - 1, i + 2 + (i + 2 < n and tokens[i + 2].norm in _ONE_WORDS)
    if t.norm in _ORDINALS and t.kind in ("word", "num"):
        before = tokens[i - 1].norm if i > 0 else ""
        after = tokens[i + 1].norm if i + 1 < n else ""
        at_end = i + 1 >= n or tokens[i + 1].kind == "sym" or after in ("and", "or", "but")
        if t.norm == "top" and after not in ("one", "pick", "result", "option", "choice"):
            return None
        if t.norm == "first" and after in ("time", "of", "date"):
            return None
        noun_after = (
            before in ("the", "that", "your")
            and i + 1 < n
            and tokens[i + 1].kind == "word"
            and after not in _NOT_ITEM_NOUNS
        )
        if after in _ONE_WORDS or (before in ("the", "that", "your") and at_end) or noun_after:
            end = i + 2 if after in ("one", "pair", "option", "item", "result", "pick") else i + 1
            return _ORDINALS[t.norm], end
        if before in ("the", "that", "your") and after in ("and", "or"):
            return _ORDINALS[t.norm], i + 1
        return None
    if t.norm in _NUMBERED and i + 1 < n and tokens[i + 1].kind == "num":
        if t.norm == "no" and not (i + 2 < n and tokens[i + 2].text == "."):
            pass
        try:
            k = int(tokens[i + 1].text)
        except ValueError:
            return None
        if 1 <= k <= 20:
            return k - 1, i + 2
    if t.text == "#" and i + 1 < n and tokens[i + 1].kind == "num":
        try:
            k = int(tokens[i + 1].text)
        except ValueError:
            return None
        if 1 <= k <= 20:
            return k - 1, i + 2
    return None


def find_references(tokens: list[Token]) -> list[RefSpan]:
    """Ordinals, "the last one", "something like ...", "another/same/that brand"."""
    out: list[RefSpan] = []
    n = len(tokens)
    i = 0
    while i < n:
        k = _starts_with(tokens, i, _OTHER_BRAND)
        if k:
            out.append(RefSpan(Reference("other_brand"), i, i + k))
            i += k
            continue
        k = _starts_with(tokens, i, _SAME_BRAND)
        if k:
            kind = "that_brand" if tokens[i].norm in ("that", "this", "those") else "same_brand"
            out.append(RefSpan(Reference(kind), i, i + k))
            i += k
            continue
        # similar: "like the second one", "similar to the last", "more like that"
        # ("I like these", "didn't like the third" are not: the verb "like")
        k = _starts_with(tokens, i, _SIMILAR)
        if k and tokens[i].norm == "like" and i > 0 and tokens[i - 1].norm in _LIKE_VERB_BEFORE:
            k = 0
        if k:
            j = i + k
            if j < n and tokens[j].norm in ("the", "that", "your"):
                j += 1
            if (
                j < n
                and tokens[j].norm == "last"
                and (j + 1 >= n or tokens[j + 1].norm in _ONE_WORDS or tokens[j + 1].kind == "sym")
            ):
                end = j + 2 if j + 1 < n and tokens[j + 1].norm in _ONE_WORDS else j + 1
                out.append(RefSpan(Reference("similar", -1), i, end))
                i = end
                continue
            if j < n:
                o = _ordinal_at(tokens, j)
                if o is not None:
                    out.append(RefSpan(Reference("similar", o[0]), i, o[1]))
                    i = o[1]
                    continue
            d = _starts_with(tokens, i, _DEMONSTRATIVE_SIMILAR)
            if d:
                out.append(RefSpan(Reference("similar", None), i, i + d))
                i += d
                continue
        t = tokens[i]
        if t.norm == "last" and i > 0 and tokens[i - 1].norm in ("the", "that", "your"):
            nxt = tokens[i + 1].norm if i + 1 < n else ""
            noun = i + 1 < n and tokens[i + 1].kind == "word" and nxt not in _NOT_ITEM_NOUNS
            if nxt in _ONE_WORDS or i + 1 >= n or tokens[i + 1].kind == "sym" or noun:
                end = i + 2 if nxt in _ONE_WORDS else i + 1
                out.append(RefSpan(Reference("last", -1), i, end))
                i = end
                continue
        o = _ordinal_at(tokens, i)
        if o is not None:
            out.append(RefSpan(Reference("ordinal", o[0]), i, o[1]))
            i = o[1]
            # "the first and (the) third": the bare ordinal after a connector is a reference too
            while i + 1 < n and tokens[i].norm in ("and", "or", ",", "&", "vs", "versus"):
                j = i + 1
                if tokens[j].norm == "the" and j + 1 < n:
                    j += 1
                if tokens[j].norm in _ORDINALS and tokens[j].norm != "top":
                    end = j + 2 if j + 1 < n and tokens[j + 1].norm == "one" else j + 1
                    out.append(RefSpan(Reference("ordinal", _ORDINALS[tokens[j].norm]), j, end))
                    i = end
                elif tokens[j].norm == "last":
                    end = j + 2 if j + 1 < n and tokens[j + 1].norm == "one" else j + 1
                    out.append(RefSpan(Reference("last", -1), j, end))
                    i = end
                else:
                    break
            continue
        if t.norm in ("both", "两") and (i + 1 >= n or tokens[i + 1].norm in ("of", "one", "个")):
            out.append(RefSpan(Reference("ordinal", 0), i, i + 1))
            out.append(RefSpan(Reference("ordinal", 1), i, i + 1))
        i += 1
    return out


# ---------------------------------------------------------------------------------------------
# negation scope
# ---------------------------------------------------------------------------------------------

_NEG_TRIGGERS = _np({
    ("not",), ("no",), ("non",), ("without",), ("except",), ("excluding",), ("exclude",),
    ("anything", "but"), ("everything", "but"), ("other", "than"), ("besides",), ("nothing",),
    ("avoid",), ("dont", "want"), ("don't", "want"), ("do", "not", "want"), ("dont", "like"),
    ("don't", "like"), ("do", "not", "like"), ("didnt", "like"), ("didn't", "like"),
    ("did", "not", "like"), ("didnt", "enjoy"), ("dont", "enjoy"), ("did", "not", "enjoy"),
    ("hate",), ("dislike",), ("never",), ("nor",), ("neither",),
    ("none", "of"), ("skip",), ("minus",), ("rather", "than"), ("instead", "of"),
    ("no", "more"), ("not", "into"), ("anti",), ("don't", "show"), ("dont", "show"), ("不", "要"),
    ("别",), ("不",), ("除", "了"), ("isn't",), ("isnt",), ("aren't",), ("arent",), ("wasn't",),
    ("sick", "of"), ("tired", "of"), ("stay", "away", "from"), ("steer", "clear", "of"),
    ("remove",), ("get", "rid", "of"), ("exclude",), ("nix",), ("ban",),
})  # fmt: skip
#: Words a negation scope may cross on its way to the next mention.
_NEG_FILLER = _n({
    "a", "an", "any", "the", "more", "of", "from", "made", "by", "in", "with", "brand", "brands",
    "color", "colour", "that", "this", "those", "these", "some", "too", "so", "really", "very",
    "want", "like", "something", "anything", "stuff", "thing", "item", "product", "one", "ones",
    "either", "again", "please", "is", "are", "be", "it", "i", "show", "me", "fan", "big", "for",
    "interested", "into", "such", "as", "just", "all", "type", "kind", "sort", "colored",
    "coloured", "style", "styled", "material", "shade", "shades", "要", "的", "我",
    "anymore", "fabric", "including", "include", "buying", "buy",
    "recommend", "suggest", "see", "movie", "film", "flick", "shoe", "shoes", "impressed",
    "keen", "happy", "crazy", "about", "on", "sure", "convinced", "liking", "loving",
})  # fmt: skip
_DETERMINERS = {"a", "an", "the", "any", "some", "that", "this", "those", "these"}
_NEG_JOINERS = {"or", "and", ",", "nor", "/", "&", "或", "和", "或者"}
_SCOPE_STOP = {"but", "just", "instead", "rather", "only", ".", ";", "!", "?", "though", "prefer"}


def negation_triggers(tokens: list[Token]) -> list[tuple[int, int]]:
    """``(start, end)`` token ranges of negation cues."""
    out = []
    i = 0
    while i < len(tokens):
        # "anything but" is a trigger; a bare "but" stops scope instead
        k = _starts_with(tokens, i, _NEG_TRIGGERS)
        if k:
            if tokens[i].norm == "less" and not (
                i + 1 < len(tokens) and tokens[i + 1].kind == "word"
            ):
                i += 1
                continue
            out.append((i, i + k))
            i += k
        else:
            i += 1
    return out


def negated_spans(
    tokens: list[Token],
    spans: list[tuple[int, int]],
    triggers: list[tuple[int, int]],
    kinds: list[str] | None = None,
) -> set[int]:
    """Indices into ``spans`` (token ranges of mentions/references) inside a negation scope.

    A scope opens at a trigger and covers the next span and every span coordinated with it
    ("no red or blue", "not Nike, Adidas or Puma"), crossing at most three filler words; any
    other word, or "but"/"instead"/sentence punctuation, closes it. A coordinated span must be
    of the same ``kinds`` entry as the one before it ("not Nike, something like the second":
    the reference is not negated).
    """
    order = sorted(range(len(spans)), key=lambda k: spans[k][0])
    starts = {spans[k][0]: k for k in order}
    out: set[int] = set()
    for _t0, t1 in triggers:
        i = t1
        gap = 0
        seen_any = False
        after_joiner = False
        last_kind = ""
        last_end = -1
        while i < len(tokens):
            if i in starts:
                k = starts[i]
                if after_joiner and kinds is not None and kinds[k] != last_kind:
                    break
                last_kind = kinds[k] if kinds is not None else ""
                out.add(k)
                last_end = spans[k][1]
                seen_any = True
                after_joiner = False
                i = spans[k][1]
                gap = 0
                continue
            norm = tokens[i].norm
            if norm in _SCOPE_STOP:
                break
            if norm in _NEG_JOINERS and seen_any:
                if not (after_joiner or i == last_end):
                    break  # "no more Puma please, New Balance instead": the list is over
                i += 1
                gap = 0
                after_joiner = True
                continue
            if after_joiner and norm not in _DETERMINERS:
                break  # "not Nike, something like the second": the list ended at the comma
            if norm in _NEG_FILLER or norm in _NEG_JOINERS or norm == "-":
                gap += norm not in _DETERMINERS
                if gap > 3:
                    break
                i += 1
                continue
            break
    return out


# ---------------------------------------------------------------------------------------------
# clearing
# ---------------------------------------------------------------------------------------------

_CLEAR = _np({
    ("start", "over"), ("forget", "that"), ("forget", "it"), ("forget", "everything"),
    ("forget", "the"), ("forget", "about"), ("never", "mind"), ("nevermind",), ("reset",),
    ("any", "price"), ("price", "doesnt", "matter"), ("price", "doesn't", "matter"),
    ("price", "does", "not", "matter"), ("dont", "care", "about", "the", "price"),
    ("don't", "care", "about", "the", "price"), ("dont", "care", "about", "price"),
    ("don't", "care", "about", "price"), ("no", "budget"), ("whatever", "price"),
    ("clear", "the"), ("clear", "all"), ("clear", "filter"), ("remove", "the", "filter"),
    ("remove", "all", "filter"), ("drop", "the", "filter"), ("ignore", "the", "price"),
    ("ignore", "my"), ("scratch", "that"), ("start", "again"), ("from", "scratch"),
    ("重", "新", "开", "始"), ("money", "is", "no", "object"), ("budget", "doesnt", "matter"),
    ("budget", "doesn't", "matter"), ("price", "is", "no", "issue"), ("no", "price", "limit"),
    ("new", "search"), ("begin", "again"), ("restart",), ("undo", "that"),
})  # fmt: skip


def wants_clear(tokens: list[Token]) -> bool:
    """ "start over", "forget that", "any price is fine", "clear the filters", ..."""
    return _find_phrase(tokens, _CLEAR) is not None


__all__ = [
    "RefSpan",
    "find_references",
    "negated_spans",
    "negation_triggers",
    "parse_price",
    "wants_clear",
]
