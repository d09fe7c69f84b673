"""References to earlier results: ordinals, "the last one", "something like ...",
"another/same/that brand"."""

from __future__ import annotations

from dataclasses import dataclass

from models.intent._phrases import norm_phrases, norm_words, starts_with
from models.intent._text import Token
from models.intent.intent import Reference

_ORDINALS = {
    "first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
    "fifth": 4, "5th": 4, "sixth": 5, "6th": 5, "seventh": 6, "7th": 6, "eighth": 7, "8th": 7,
    "ninth": 8, "9th": 8, "tenth": 9, "10th": 9, "top": 0, "frist": 0, "secnd": 1, "seccond": 1,
    "thrid": 2, "forth": 3, "第一": 0, "第二": 1, "第三": 2, "第四": 3, "第五": 4,
}  # fmt: skip
_ONE_WORDS = norm_words({
    "one", "pair", "option", "item", "result", "pick", "movie", "film", "shoe", "choice",
    "suggestion", "product", "recommendation", "model", "thing", "of", "个", "款", "双", "部",
})  # fmt: skip
#: Words after "the first"/"the last" that do not make it a reference to a result.
_NOT_ITEM_NOUNS = norm_words({
    "time", "times", "year", "years", "day", "days", "week", "month", "half", "place", "date",
    "two", "three", "four", "five", "few", "couple", "minute", "hour", "season", "episode",
    "and", "or", "but", "is", "was", "of", "in", "on", "at", "to", "for", "with", "from",
})  # fmt: skip
_NUMBERED = norm_words({"number", "no", "#", "option", "item", "result", "choice", "pick"})
_SIMILAR = norm_phrases({
    ("like",), ("similar", "to"), ("similar",), ("more", "like"), ("something", "like"),
    ("along", "the", "lines", "of"), ("same", "style", "as"), ("close", "to"), ("类", "似"),
    ("像",), ("simmilar", "to"), ("similiar", "to"),
})  # fmt: skip
_DEMONSTRATIVE_SIMILAR = norm_phrases({
    ("like", "that"), ("like", "this"), ("like", "these"), ("like", "those"),
    ("like", "that", "one"), ("like", "this", "one"), ("similar", "to", "that"),
    ("similar", "to", "this"), ("similar", "to", "these"), ("similar", "to", "those"),
    ("similar", "one"), ("similar", "ones"), ("similar", "item"), ("similar", "stuff"),
    ("similar", "thing"), ("similar", "movie"), ("similar", "film"), ("similar", "shoe"),
    ("similar", "product"),
})  # fmt: skip
_OTHER_BRAND = norm_phrases({
    ("another", "brand"), ("different", "brand"), ("other", "brand"), ("another", "make"),
    ("different", "make"), ("other", "than", "that", "brand"), ("some", "other", "brand"),
    ("new", "brand"), ("换", "个", "牌", "子"), ("别", "的", "牌", "子"), ("diffrent", "brand"),
    ("different", "label"), ("any", "other", "brand"),
})  # fmt: skip
_SAME_BRAND = norm_phrases({
    ("same", "brand"), ("that", "brand"), ("this", "brand"), ("their", "brand"),
    ("same", "make"), ("same", "label"), ("同", "一", "个", "牌", "子"), ("同", "牌", "子"),
    ("those", "brand"), ("by", "them"), ("from", "them"),
})  # fmt: skip


_LIKE_VERB_BEFORE = norm_words({
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
        k = starts_with(tokens, i, _OTHER_BRAND)
        if k:
            out.append(RefSpan(Reference("other_brand"), i, i + k))
            i += k
            continue
        k = starts_with(tokens, i, _SAME_BRAND)
        if k:
            kind = "that_brand" if tokens[i].norm in ("that", "this", "those") else "same_brand"
            out.append(RefSpan(Reference(kind), i, i + k))
            i += k
            continue
        # similar: "like the second one", "similar to the last", "more like that"
        # ("I like these", "didn't like the third" are not: the verb "like")
        k = starts_with(tokens, i, _SIMILAR)
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
            d = starts_with(tokens, i, _DEMONSTRATIVE_SIMILAR)
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


__all__ = ["RefSpan", "find_references"]
