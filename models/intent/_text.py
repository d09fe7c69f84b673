"""Tokens with character offsets, word normalisation and numbers written in words or digits.

Every rule in this package works on the token list from :func:`tokenize`, so offsets always
point into the original message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN_RE = re.compile(
    rf"(?P<num>\d+(?:,\d{{3}})*(?:\.\d+)?(?:[kK](?![^\W\d_]))?)"
    rf"|(?P<cjk>[{_CJK}])"
    rf"|(?P<word>[^\W\d_{_CJK}]+(?:['’][^\W\d_{_CJK}]+)*)"
    rf"|(?P<sym>\S)"
)


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``text == message[start:end]``; ``norm`` is the matching key."""

    text: str
    start: int
    end: int
    kind: str  # num | cjk | word | sym
    norm: str


def _strip_accents(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def singular(word: str) -> str:
    """A crude English singular, applied identically to lexicon and message words."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ie") and len(word) > 4:  # "hoodie" ~ "hoodies" -> "hoody"
        return word[:-2] + "y"
    if word.endswith(("ches", "shes", "sses", "xes", "zes")):
        return word[:-2]
    if word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def normalize_word(text: str) -> str:
    """Case-, accent-, possessive- and plural-insensitive key of one word token."""
    return singular(word_form(text))


def word_form(text: str) -> str:
    """:func:`normalize_word` without the plural folding: "Wars" and "War" differ."""
    w = _strip_accents(text.casefold()).replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    return w.replace("'", "")


def tokenize(message: str) -> list[Token]:
    """Split ``message`` into word, number, CJK-character and symbol tokens."""
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(message):
        kind = m.lastgroup or "sym"
        text = m.group()
        norm = normalize_word(text) if kind == "word" else text.casefold()
        out.append(Token(text, m.start(), m.end(), kind, norm))
    return out


# ---------------------------------------------------------------------------------------------
# numbers
# ---------------------------------------------------------------------------------------------

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "grand": 1000, "k": 1000}
_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
    "八": 8, "九": 9,
}  # fmt: skip
_CN_SCALES = {"十": 10, "百": 100, "千": 1000, "万": 10000}


@dataclass(frozen=True, slots=True)
class NumberSpan:
    """A number found in the token list: tokens ``[i, j)`` have value ``value``."""

    value: float
    i: int
    j: int


def _digits_value(text: str) -> float:
    t = text.replace(",", "")
    mult = 1.0
    if t[-1] in "kK":
        t, mult = t[:-1], 1000.0
    return float(t) * mult


def _cn_value(chars: str) -> float:
    total, section, digit = 0, 0, 0
    for ch in chars:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        elif ch == "万":
            total += (section + digit) * 10000
            section, digit = 0, 0
        else:
            scale = _CN_SCALES[ch]
            section += (digit or 1) * scale
            digit = 0
    return float(total + section + digit)


def find_numbers(tokens: list[Token]) -> list[NumberSpan]:
    """Numbers in digits ("1,200", "1.5k"), English words ("two hundred and fifty",
    "eighty-five", "a hundred", "2 grand") and Chinese numerals ("一百五")."""
    out: list[NumberSpan] = []
    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if t.kind == "num":
            value = _digits_value(t.text)
            j = i + 1
            if j < n and tokens[j].norm in ("grand", "k", "thousand") and tokens[j].kind == "word":
                value *= 1000
                j += 1
            elif j < n and tokens[j].norm == "hundred":
                value *= 100
                j += 1
            out.append(NumberSpan(value, i, j))
            i = j
            continue
        if t.kind == "cjk" and (t.text in _CN_DIGITS or t.text in _CN_SCALES):
            j = i
            while (
                j < n
                and tokens[j].kind == "cjk"
                and (tokens[j].text in _CN_DIGITS or tokens[j].text in _CN_SCALES)
            ):
                j += 1
            chars = "".join(tok.text for tok in tokens[i:j])
            # a lone "一" is usually the article in "一双" / "一点", not a price
            if chars not in ("一", "两") or (j < n and tokens[j].text in "块元"):
                out.append(NumberSpan(_cn_value(chars), i, j))
            i = j
            continue
        w = t.text.casefold()
        starts_article = w in ("a", "an") and i + 1 < n and tokens[i + 1].norm in _SCALES
        if w in _UNITS or starts_article:
            total, current = 0.0, 0.0
            j = i
            last_was_unit = False
            while j < n:
                wj = tokens[j].text.casefold()
                if wj in ("a", "an") and j == i:
                    current = 1.0
                elif wj in _UNITS:
                    u = _UNITS[wj]
                    if last_was_unit and (u >= 10 or current % 10 != 0 or current == 0):
                        break  # "one two" is two numbers, not 3
                    current += u
                    last_was_unit = True
                    j += 1
                    continue
                elif wj in _SCALES and j > i:
                    scale = _SCALES[wj]
                    if scale == 100:
                        current = (current or 1.0) * 100
                    else:
                        total += (current or 1.0) * scale
                        current = 0.0
                    last_was_unit = False
                elif (
                    wj in ("and", "-")
                    and j > i
                    and j + 1 < n
                    and tokens[j + 1].text.casefold() in _UNITS
                    and (wj == "-" or tokens[j - 1].text.casefold() in _SCALES)
                ):
                    pass
                else:
                    break
                j += 1
            value = total + current
            if j > i and not (j == i + 1 and starts_article):
                out.append(NumberSpan(value, i, j))
                i = j
                continue
        i += 1
    return out


__all__ = ["NumberSpan", "Token", "find_numbers", "normalize_word", "singular", "tokenize"]
