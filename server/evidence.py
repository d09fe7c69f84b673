"""What step 5 (explain) grounds its reasons in: KG paths and aggregated co-shoppers.

The pipeline's only graph reads for an explanation, in two calls per turn: the paths from what
the shopper named (linked entities, the anchor item, the session's preferences) to the top
items (:meth:`GraphStore.paths`), and how many shoppers chose both the anchor and each item
(:meth:`GraphStore.co_interactions`, counts only: no shopper is named).
"""

from __future__ import annotations

from kg.store import GraphStore
from kgrec.domain import KgPath

from .pipeline_config import PipelineConfig
from .turn import Turn

__all__ = ["gather_evidence"]


def gather_evidence(
    turn: Turn, store: GraphStore, config: PipelineConfig
) -> tuple[dict[str, list[KgPath]], dict[str, int]]:
    """``(paths by item id, co-shoppers by item id)`` for the turn's best ``explain_top``;
    nothing when the request asks for no explanation."""
    if not (turn.query.explain and turn.scored):
        return {}, {}
    assert turn.update is not None
    anchor = turn.update.anchor
    explained = [s.candidate.product.id for s in turn.scored[: config.explain_top]]
    sources = [e.entity_id for e in turn.linked if not e.negated]
    sources += [anchor.item_id] if anchor else []
    sources += [i for i in turn.state.preferred_ids if i not in sources]
    pairs = store.co_interactions([anchor.item_id], explained) if anchor else {}
    hops, k = config.path_hops, config.paths_per_item
    paths = store.paths(sources, explained, hops, k) if sources else {}
    return paths, {item: n for (_, item), n in pairs.items()}
