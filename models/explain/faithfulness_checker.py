"""Checks that a reply names only what it may: ranked items and nodes on their cited paths.

The checker knows every name in the catalog (product titles, brands, categories, imported
entities). A reply is faithful when each catalog name it contains is in the allowed set built
from the request: the ranked items' titles, the names of nodes on their paths, and the
entities the shopper named (linked this turn or kept as constraints). Matching is
case-insensitive, on word boundaries, longest name first, so "Nike Air" is not read as "Nike".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .explain_types import ExplainRequest
from .template_explainer import node_text

_WORD = re.compile(r"\w+", re.UNICODE)


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class Violation:
    name: str
    start: int  # word offset in the normalised reply


class FaithfulnessChecker:
    """Finds catalog names in a text that the request does not allow."""

    def __init__(self, catalog_names: Iterable[str], min_chars: int = 3) -> None:
        by_first: dict[str, set[tuple[str, ...]]] = {}
        for name in catalog_names:
            words = tuple(_norm(name).split())
            if words and len(" ".join(words)) >= min_chars:
                by_first.setdefault(words[0], set()).add(words)
        # longest first, so the longest catalog name at a position wins
        self._by_first = {k: sorted(v, key=len, reverse=True) for k, v in by_first.items()}

    @staticmethod
    def allowed_names(request: ExplainRequest) -> set[str]:
        allowed: set[str] = set()
        for item in request.items:
            p = item.product
            allowed.update({p.title, p.brand, p.category})
            allowed.update(value for _, value in p.attributes)
            for path in item.paths:
                for node in path.nodes:
                    allowed.update({node.name, node_text(node)})
        for entity in request.linked:
            allowed.update({entity.name, entity.mention})
        c = request.constraints
        allowed.update(
            c.categories + c.brands + c.attributes + c.excluded_brands + c.excluded_attributes
        )
        if c.similar_to:
            allowed.add(c.similar_to)
        return {_norm(a) for a in allowed if a}

    def violations(self, text: str, allowed: set[str]) -> list[Violation]:
        words = _norm(text).split()
        found: list[Violation] = []
        i = 0
        while i < len(words):
            step = 1
            for cand in self._by_first.get(words[i], ()):
                if tuple(words[i : i + len(cand)]) == cand:
                    name = " ".join(cand)
                    if not self._covered(name, allowed):
                        found.append(Violation(name, i))
                    step = len(cand)
                    break
            i += step
        return found

    @staticmethod
    def _covered(name: str, allowed: set[str]) -> bool:
        """A catalog name is fine if it is allowed or is part of an allowed name."""
        if name in allowed:
            return True
        padded = f" {name} "
        return any(padded in f" {a} " for a in allowed)

    def check(self, text: str, request: ExplainRequest) -> list[Violation]:
        return self.violations(text, self.allowed_names(request))
