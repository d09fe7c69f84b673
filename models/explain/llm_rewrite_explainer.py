"""Optional LLM rewrite of the template reply, kept only when it is faithful.

The template explainer writes the reply; an LLM backend (``llm-local`` or ``llm-remote`` from
:mod:`models.intent`, anything with a ``complete(messages, budget_s) -> str``) is asked to
make it read better. The rewrite is accepted only if

* the :class:`FaithfulnessChecker` finds no catalog name outside the ranked items, the nodes
  on their cited paths and what the shopper named, and
* it still names the top pick (a rewrite that drops the recommendation is no reply).

Otherwise, and on any backend error or timeout, the template text is used and
``Explanation.backend`` says why (``template(fallback:llm:<reason>)``). Item reasons always
come from the template: they carry the KG paths.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Protocol

from .explain_types import ExplainRequest, Explanation
from .explainer import Explainer
from .faithfulness_checker import FaithfulnessChecker
from .template_explainer import TemplateExplainer, money

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You polish the reply of a shopping assistant. Keep every fact and number. Do not add "
    "products, brands, people or facts that are not in the list. Answer with the reply only, "
    "in two to four friendly sentences."
)
TOP_ITEMS_IN_PROMPT = 3


class Completer(Protocol):
    def complete(self, messages: list[dict[str, str]], budget_s: float) -> str: ...


class LLMRewriteExplainer(Explainer):
    """Template explanation with an LLM-polished, checked reply.

    Args:
        completer: the LLM backend.
        checker: knows every catalog name (build it from the store's lexicon).
        base: the explainer whose reply is rewritten (default: :class:`TemplateExplainer`).
        budget_ms: time the LLM gets per reply (default 1500).
    """

    def __init__(
        self,
        completer: Completer,
        checker: FaithfulnessChecker,
        base: Explainer | None = None,
        budget_ms: float = 1500.0,
    ) -> None:
        self.completer = completer
        self.checker = checker
        self.base = base or TemplateExplainer()
        self.budget_s = budget_ms / 1000

    def explain(self, request: ExplainRequest) -> Explanation:
        draft = self.base.explain(request)
        if not request.items:
            return draft
        try:
            text = self.completer.complete(self.messages(request, draft), self.budget_s).strip()
        except Exception as e:  # noqa: BLE001 - any backend failure falls back to the template
            reason = getattr(e, "reason", type(e).__name__)
            log.info("reply rewrite failed (%s): template reply kept", e)
            return replace(draft, backend=f"template(fallback:llm:{reason})")
        reason = self.rejection(text, request)
        if reason:
            log.info("reply rewrite rejected (%s): template reply kept", reason)
            return replace(draft, backend=f"template(fallback:llm:{reason})")
        return Explanation(reasons=draft.reasons, reply=text, backend="llm-rewrite")

    def rejection(self, text: str, request: ExplainRequest) -> str:
        """Why ``text`` may not be shown (empty string: it may)."""
        if not text:
            return "empty"
        violations = self.checker.check(text, request)
        if violations:
            return "unfaithful:" + ",".join(v.name for v in violations[:3])
        if request.items[0].product.title.casefold() not in text.casefold():
            return "dropped-top-pick"
        return ""

    @staticmethod
    def messages(request: ExplainRequest, draft: Explanation) -> list[dict[str, str]]:
        facts: list[str] = []
        for item in request.items[:TOP_ITEMS_IN_PROMPT]:
            p = item.product
            price = money(p.price, p.currency) if p.price is not None else "no price"
            why = "; ".join(r.text for r in draft.reasons.get(p.id, ()))
            facts.append(f"- {p.title} ({price}): {why}")
        user = "Facts:\n" + "\n".join(facts) + f"\n\nReply to polish:\n{draft.reply}"
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
