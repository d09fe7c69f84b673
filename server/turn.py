"""The ``Turn`` object that flows through the five steps of one Recommend call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kg.types import Candidate, ProductRecord, SessionRecord
from kgrec.domain import LinkedEntity, Recommendation, RecommendQuery
from models.dialogue import DialogueState, TurnUpdate
from models.scoring.turn_scores import TurnScores

if TYPE_CHECKING:
    from models.feedback.slate import Slate
    from models.intent import Intent
    from models.scoring import ItemScorer
    from models.scoring.blend import ScoredCandidate


@dataclass(slots=True)
class Turn:
    """Mutable scratchpad of one turn; each step reads what the previous ones wrote."""

    query: RecommendQuery
    session: SessionRecord
    state: DialogueState
    #: the scorer this turn started with: a model swapped in meanwhile serves the next turn
    scorer: ItemScorer | None = None
    intent: Intent | None = None
    linked: list[LinkedEntity] = field(default_factory=list)
    update: TurnUpdate | None = None
    candidates: list[Candidate] = field(default_factory=list)
    #: candidates that miss a brand or attribute asked for (close matches), ranked after
    #: every exact one (``models.dialogue.session_rules.close_query``)
    close_ids: frozenset[str] = frozenset()
    #: the session's disliked products, fetched once by retrieve (score reads their brands)
    disliked: list[ProductRecord] = field(default_factory=list)
    #: the scorer's scoring of this turn, asked once (widening and ranking share it)
    model: TurnScores | None = None
    scored: list[ScoredCandidate] = field(default_factory=list)
    #: the blend's best ``max(limit, explore_top)`` (the impression log's candidates), the
    #: ranking the shown slate was drawn from (the ranking policy's order of them), and the
    #: draw: ``scored`` is then the shown items, in their shown order
    blended: list[ScoredCandidate] = field(default_factory=list)
    ranked: list[ScoredCandidate] = field(default_factory=list)
    slate: Slate | None = None
    #: (signal rows, rewards) the ranking policy learns from once the turn is saved
    policy_rewards: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    result: Recommendation | None = None  # what explain answers

    def passed_over(self) -> set[str]:
        """What this turn's ranking demotes as shown before and not chosen
        (:func:`models.dialogue.session_rules.passed_over`): a reference, a price or "start
        over" in the message critiques the shown items."""
        from models.dialogue.session_rules import passed_over

        q, intent = self.query, self.intent
        critique = intent is not None and bool(
            intent.references or intent.price or intent.clear_constraints
        )
        return passed_over(
            self.state, self.linked, q.context_item_ids, q.message, critique=critique
        )
