"""Template realisation of explanations, grounded in real KG paths.

Every reason is produced from a path the graph store returned (``ExplainItem.paths``) or from a
constraint the item was checked against, so the reply can only name ranked items and nodes
on their paths (and the entities the shopper named).
"""

from __future__ import annotations

from kgrec.domain import MAX_PRICE, KgPath, PathNode, Reason

from .explain_types import AppliedConstraints, ExplainItem, ExplainRequest, Explanation
from .explainer import Explainer

TOP_PICKS_IN_REPLY = 3
MAX_REASONS = 4
#: Fewest shoppers a "N shoppers who chose X also chose it" reason may count: a smaller
#: group could point at a person the reader knows.
MIN_CO_SHOPPERS = 5

_OPENINGS = (
    "Here are {n} {what}{qualifiers}.",
    "I found {n} {what}{qualifiers}.",
    "These {n} {what}{qualifiers} fit best.",
)
_PICK_LEADS = ("Top pick: {title}", "Best match: {title}", "First up: {title}")
_VAGUE_FOLLOW_UPS = (
    "Tell me a bit more: what kind of product, a brand you like, or a budget?",
    "To narrow this down, is there a category, colour or price range you have in mind?",
)
_NONE_FOUND = (
    "I could not find anything {what}{qualifiers}. Want to relax one of those constraints?"
)
#: with close matches (products missing a brand or attribute asked for) after the exact ones
_FEW_EXACT = "Only {n} {what}{qualifiers} match everything you asked; then {close} close matches."
_NO_EXACT = "I could not find {what}{qualifiers}; here are {n} close matches."


def money(value: float, currency: str = "USD") -> str:
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency, "")
    # above MAX_PRICE (also NaN, infinities) shows as "$1,000,000,000.00+", not 309 digits
    over = not value <= MAX_PRICE
    shown = MAX_PRICE if over else value
    text = f"{symbol}{shown:,.2f}" if symbol else f"{shown:,.2f} {currency}"
    return f"{text}+" if over else text


def wish_text(wish: str) -> str:
    """ "audience=men" -> "for men", "occasion=gift" -> "as a gift", "use=swimming" -> "for
    swimming", "season=winter" -> "for winter"."""
    kind, _, value = wish.partition("=")
    if kind == "occasion":
        return f"as a {value}"
    return f"for {value}" if value else wish


def node_text(node: PathNode) -> str:
    """Display text of a path node; attribute ids read ``attr:<name>=<value>``."""
    if node.label == "Attribute" and "=" in node.id:
        return node.id.split("=", 1)[1]
    return node.name or node.id


def humanise(relation: str) -> str:
    return relation.lower().replace("_", " ")


def path_reason(path: KgPath, item_id: str) -> Reason | None:
    """One reason sentence for a path that ends at ``item_id``."""
    nodes = path.nodes
    if len(nodes) < 2 or nodes[-1].id != item_id:
        return None
    source = nodes[0]
    text = node_text(source)
    rels = path.relations
    if source.label == "User" and len(nodes) >= 3:
        liked = nodes[1]
        via = nodes[2] if len(nodes) > 3 else None
        if via is not None:
            return Reason(f"you liked {liked.name}, also {node_text(via)}", "feedback", path)
        return Reason(f"you showed interest in {liked.name}", "feedback", path)
    if source.label == "Product" and len(nodes) >= 3:
        return Reason(f"shares {node_text(nodes[1])} with {source.name}", "similar", path)
    if source.label == "Attribute":
        return Reason(text, "match", path)
    if source.label == "Category":
        return Reason(f"in {text}", "match", path)
    if source.label == "Brand":
        return Reason(f"by {text}", "match", path)
    return Reason(f"{humanise(rels[-1])}: {text}", "match", path)


def constraint_reasons(item: ExplainItem, constraints: AppliedConstraints) -> list[Reason]:
    product = item.product
    reasons: list[Reason] = []
    price = product.price
    if price is not None:
        bound = constraints.price
        cur = product.currency or constraints.currency
        if bound.max is not None and bound.min is not None:
            text = (
                f"{money(price, cur)}, within your {money(bound.min, cur)}–{money(bound.max, cur)}"
            )
            reasons.append(Reason(text, "constraint"))
        elif bound.max is not None:
            text = f"{money(price, cur)}, under your {money(bound.max, cur)}"
            reasons.append(Reason(text, "constraint"))
        elif bound.min is not None:
            reasons.append(
                Reason(f"{money(price, cur)}, above {money(bound.min, cur)}", "constraint")
            )
        if constraints.cheaper_than is not None and price < constraints.cheaper_than:
            # the item's own price: the cap is derived from the picks, not said by the shopper
            text = f"{money(price, cur)}, cheaper than the last picks"
            reasons.append(Reason(text, "constraint"))
        if constraints.pricier_than is not None and price > constraints.pricier_than:
            text = f"{money(price, cur)}, pricier than the last picks"
            reasons.append(Reason(text, "constraint"))
    if constraints.excluded_brands and product.brand:
        excluded = " or ".join(constraints.excluded_brands)
        reasons.append(Reason(f"{product.brand}, not {excluded} as you asked", "constraint"))
    return reasons


class TemplateExplainer(Explainer):
    """Readable, varied template text; the default explainer."""

    def explain(self, request: ExplainRequest) -> Explanation:
        reasons: dict[str, tuple[Reason, ...]] = {}
        for item in request.items:
            reasons[item.product.id] = tuple(self._reasons(item, request.constraints))
        return Explanation(reasons=reasons, reply=self._reply(request, reasons))

    def _reasons(self, item: ExplainItem, constraints: AppliedConstraints) -> list[Reason]:
        out: list[Reason] = []
        if item.misses:  # a close match says first what it is not
            out.append(Reason("close match: " + "; ".join(item.misses), "close"))
        seen: set[str] = set()
        shared: dict[str, list[Reason]] = {}  # anchor title -> "shares ..." reasons
        for path in item.paths:
            reason = path_reason(path, item.product.id)
            if reason is None or reason.text in seen:
                continue
            seen.add(reason.text)
            if reason.kind == "similar":
                anchor = path.nodes[0].name
                if anchor not in shared:
                    out.append(reason)  # placeholder, replaced by the merged reason below
                shared.setdefault(anchor, []).append(reason)
            else:
                out.append(reason)
        for anchor, group in shared.items():
            if len(group) > 1:
                what = ", ".join(node_text(r.path.nodes[1]) for r in group if r.path is not None)
                merged = Reason(f"shares {what} with {anchor}", "similar", group[0].path)
                out[out.index(group[0])] = merged
        if item.co_shoppers >= MIN_CO_SHOPPERS and constraints.similar_to:
            text = f"{item.co_shoppers} shoppers who chose {constraints.similar_to} also chose it"
            out.append(Reason(text, "similar"))
        out.extend(constraint_reasons(item, constraints))
        if not out and item.product.popularity > 0:
            count = int(item.product.popularity)
            out.append(Reason(f"popular: {count} shoppers chose it", "popularity"))
        return out[:MAX_REASONS]

    def _reply(self, request: ExplainRequest, reasons: dict[str, tuple[Reason, ...]]) -> str:
        c = request.constraints
        what = self._what(c)
        qualifiers = self._qualifiers(c)
        v = request.variant
        if not request.items:
            return _NONE_FOUND.format(what=what, qualifiers=qualifiers)
        close = sum(1 for it in request.items if it.misses)
        exact = len(request.items) - close
        if not close:
            opening = _OPENINGS[v % len(_OPENINGS)]
            parts = [opening.format(n=exact, what=what, qualifiers=qualifiers)]
        elif not exact:
            parts = [_NO_EXACT.format(n=close, what=what, qualifiers=qualifiers)]
        else:
            parts = [_FEW_EXACT.format(n=exact, what=what, qualifiers=qualifiers, close=close)]
        for rank, item in enumerate(request.items[:TOP_PICKS_IN_REPLY]):
            # the opening already says what was left out; the picks say why they fit
            texts = [
                r.text
                for r in reasons.get(item.product.id, ())
                if not (
                    r.kind == "constraint" and c.excluded_brands and r.text.endswith("as you asked")
                )
            ]
            title = item.product.title
            lead = _PICK_LEADS[v % len(_PICK_LEADS)].format(title=title) if rank == 0 else title
            parts.append(f"{lead} — {'; '.join(texts)}." if texts else f"{lead}.")
        if c.wishes:
            # kept as asked; the opening does not claim the items are tagged that way
            parts.append(f"Noted: {', '.join(wish_text(w) for w in c.wishes)}.")
        if request.vague:
            parts.append(_VAGUE_FOLLOW_UPS[v % len(_VAGUE_FOLLOW_UPS)])
        return " ".join(parts)

    @staticmethod
    def _what(c: AppliedConstraints) -> str:
        words = list(c.attributes)
        words.append(" / ".join(n.lower() for n in c.categories) if c.categories else "items")
        text = " ".join(words)
        if c.brands:
            text += " from " + " or ".join(c.brands)
        if c.similar_to:
            text += f" like {c.similar_to}"
        return text

    @staticmethod
    def _qualifiers(c: AppliedConstraints) -> str:
        bits: list[str] = []
        if c.price.min is not None and c.price.max is not None:
            bits.append(
                f" between {money(c.price.min, c.currency)} and {money(c.price.max, c.currency)}"
            )
        elif c.price.max is not None:
            bits.append(f" under {money(c.price.max, c.currency)}")
        elif c.price.min is not None:
            bits.append(f" over {money(c.price.min, c.currency)}")
        if c.cheaper_than is not None:
            bits.append(" cheaper than the last picks")
        elif c.pricier_than is not None:
            bits.append(" pricier than the last picks")
        if c.price_level:
            bits.append(", budget-friendly first" if c.price_level == "low" else ", premium first")
        exclusions = list(c.excluded_brands) + [f"{a}" for a in c.excluded_attributes]
        if exclusions:
            bits.append(", leaving out " + " and ".join(exclusions))
        return "".join(bits)
