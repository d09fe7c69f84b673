"""Fold one turn (intent + linked entities + explicit filters) into the dialogue state.

Rules, in order:

1. "start over" (``intent.clear_constraints``) forgets every constraint.
2. A category different from the current one starts a new topic: earlier constraints are
   dropped (exclusions of items and feedback stay).
3. Linked entities become hard constraints by label — Brand/Category/Attribute, negated ones
   become exclusions — or soft preferences (any other label, e.g. a movie's director).
   A newly named brand replaces the earlier brand wish; a new value of an attribute replaces
   the earlier value of that attribute (red -> blue).
4. A product named in the message is a soft anchor (its category and brand preferred, the
   product itself excluded). References resolve against the last ranking: "the second one"
   focuses an item, "more like the second one" makes it the anchor (same category, its brand
   preferred, the item itself excluded), "another brand" / "not that brand" excludes the
   focused item's brand.
5. Prices: an explicit range replaces the old one (and any "cheaper"/"pricier" bound);
   "cheaper" caps the price below the median of the last ranking, "pricier" floors it above,
   both kept apart from the stated range (``state.cheaper_than`` / ``pricier_than``); with no
   last ranking they read as a price level. A price level ("cheap", "premium") orders the
   candidates by price and sets no bound.
6. Soft wishes (audience, occasion, use, season) are remembered as ``kind=value``; those the
   graph has a node for (``wish_entities``, linked by the pipeline) become preferred entities,
   never hard constraints. A negated wish is forgotten.
7. Explicit request filters are applied last and always win.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING

from kgrec.domain import Filters, LinkedEntity

from .dialogue_state import DialogueState, ShownItem

if TYPE_CHECKING:
    from models.intent import Intent

HARD_LABELS = ("Brand", "Category", "Attribute")


@dataclass(slots=True)
class TurnUpdate:
    """What this turn changed, for the explanation step."""

    anchor: ShownItem | None = None
    cheaper_than: float | None = None
    pricier_than: float | None = None
    new_topic: bool = False
    used_entities: list[LinkedEntity] = field(default_factory=list)
    unresolved_references: list[str] = field(default_factory=list)


def _attribute_name(entity_id: str) -> str:
    """``attr:color=red`` -> ``color``."""
    body = entity_id.split(":", 1)[-1]
    return body.split("=", 1)[0]


class DialogueTracker:
    """Applies the rules in the module docstring. Stateless; the state is passed in.

    Args:
        hide_named_items: a product the shopper names is not recommended back for the rest of
            the session (default). ``False`` keeps it a candidate, for settings where
            suggesting a mentioned item again is wanted (the ReDial benchmark's protocol).
    """

    def __init__(self, *, hide_named_items: bool = True) -> None:
        self.hide_named_items = hide_named_items

    def update(
        self,
        state: DialogueState,
        intent: Intent,
        linked: list[LinkedEntity],
        filters: Filters,
        context_item_ids: tuple[str, ...] = (),
        named_items: tuple[ShownItem, ...] = (),
        wish_entities: tuple[LinkedEntity, ...] = (),
    ) -> TurnUpdate:
        update = TurnUpdate()
        state.turn += 1
        if intent.clear_constraints:
            state.reset_constraints()

        new_categories = [e.entity_id for e in linked if e.label == "Category" and not e.negated]
        if new_categories and state.category_ids and set(new_categories) != set(state.category_ids):
            state.reset_constraints()
            update.new_topic = True

        self._apply_entities(state, linked, update)
        self._apply_named_items(state, named_items, update)
        self._apply_references(state, intent, update)
        self._apply_price(state, intent, update)
        self._apply_wishes(state, intent, wish_entities)
        self._apply_filters(state, filters, context_item_ids)
        for entity in linked:
            state.add("linked_entity_ids", entity.entity_id)
        return update

    # -- rules --------------------------------------------------------------------------------

    def _apply_entities(
        self, state: DialogueState, linked: list[LinkedEntity], update: TurnUpdate
    ) -> None:
        positive_brands = [e.entity_id for e in linked if e.label == "Brand" and not e.negated]
        if positive_brands:
            state.brand_ids[:] = positive_brands
        for entity in linked:
            update.used_entities.append(entity)
            eid = entity.entity_id
            if entity.label == "Category":
                if entity.negated:
                    state.discard("category_ids", eid)
                    state.add("exclude_category_ids", eid)
                else:
                    state.add("category_ids", eid)
                    state.discard("exclude_category_ids", eid)
            elif entity.label == "Brand":
                if entity.negated:
                    state.discard("brand_ids", eid)
                    state.add("exclude_brand_ids", eid)
                else:
                    state.discard("exclude_brand_ids", eid)
            elif entity.label == "Attribute":
                if entity.negated:
                    state.discard("required_attribute_ids", eid)
                    state.add("exclude_attribute_ids", eid)
                else:
                    name = _attribute_name(eid)
                    state.required_attribute_ids[:] = [
                        a for a in state.required_attribute_ids if _attribute_name(a) != name
                    ]
                    state.add("required_attribute_ids", eid)
                    state.discard("exclude_attribute_ids", eid)
            elif not entity.negated:
                state.add("preferred_ids", eid)

    def _apply_named_items(
        self, state: DialogueState, items: tuple[ShownItem, ...], update: TurnUpdate
    ) -> None:
        """A product the shopper names ("something like the Pegasus") is a soft anchor: its
        category and brand are preferred, not required, and the product itself is not shown
        (unless ``hide_named_items`` is off)."""
        for item in items:
            state.focus = item
            update.anchor = update.anchor or item
            for eid in (item.category_id, item.brand_id):
                if eid and eid not in state.exclude_brand_ids:
                    state.add("preferred_ids", eid)
            if self.hide_named_items:
                state.add("exclude_item_ids", item.item_id)

    def _apply_references(self, state: DialogueState, intent: Intent, update: TurnUpdate) -> None:
        for ref in intent.references:
            if ref.kind in ("ordinal", "last", "similar"):
                index = ref.index if ref.index is not None else (-1 if ref.kind == "last" else 0)
                item = state.item_at(index)
                if item is None:
                    update.unresolved_references.append(ref.kind)
                    continue
                state.focus = item
                if ref.kind == "similar":
                    update.anchor = item
                    if item.category_id:
                        state.category_ids[:] = [item.category_id]
                    if item.brand_id and item.brand_id not in state.exclude_brand_ids:
                        state.add("preferred_ids", item.brand_id)
                    state.add("exclude_item_ids", item.item_id)
            elif ref.kind in ("other_brand", "that_brand", "same_brand"):
                focus = state.focus or state.item_at(0)
                if focus is None or not focus.brand_id:
                    update.unresolved_references.append(ref.kind)
                    continue
                if ref.kind == "same_brand" and not ref.negated:
                    state.brand_ids[:] = [focus.brand_id]
                    state.discard("exclude_brand_ids", focus.brand_id)
                else:
                    state.discard("brand_ids", focus.brand_id)
                    state.discard("preferred_ids", focus.brand_id)
                    state.add("exclude_brand_ids", focus.brand_id)

    def _apply_price(self, state: DialogueState, intent: Intent, update: TurnUpdate) -> None:
        price = intent.price
        if price is None:
            return
        if price.min is not None or price.max is not None:
            state.min_price, state.max_price = price.min, price.max
            state.cheaper_than = state.pricier_than = None
        level = getattr(price, "level", None)
        if level:
            state.price_level = level
        shown = [i.price for i in state.last_ranking if i.price is not None]
        if price.relative == "cheaper":
            if state.price_level == "high":
                state.price_level = ""
            if not shown:
                state.price_level = "low"  # nothing shown to be cheaper than: cheap ones
                return
            cap = round(median(shown), 2)
            update.cheaper_than = state.cheaper_than = cap
            state.pricier_than = None
        elif price.relative == "pricier":
            if state.price_level == "low":
                state.price_level = ""
            if not shown:
                state.price_level = "high"
                return
            floor = round(median(shown), 2)
            update.pricier_than = state.pricier_than = floor
            state.cheaper_than = None

    def _apply_wishes(
        self, state: DialogueState, intent: Intent, entities: tuple[LinkedEntity, ...]
    ) -> None:
        for pref in getattr(intent, "preferences", ()):
            key = f"{pref.kind}={pref.value}"
            if pref.negated:
                state.discard("wishes", key)
            else:
                state.add("wishes", key)
        for entity in entities:
            if not entity.negated:
                state.add("preferred_ids", entity.entity_id)

    def _apply_filters(
        self, state: DialogueState, filters: Filters, context_item_ids: tuple[str, ...]
    ) -> None:
        if filters.price.min is not None:
            state.min_price = filters.price.min
        if filters.price.max is not None:
            state.max_price = filters.price.max
        if filters.category_ids:
            state.category_ids[:] = list(filters.category_ids)
        for item_id in filters.excluded_item_ids:
            state.add("exclude_item_ids", item_id)
        for item_id in context_item_ids:
            state.add("preferred_ids", item_id)
