"""Weights of :class:`~models.crs.comention_scorer.CoMentionScorer`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CoMentionConfig:
    """Weights of the score terms (documented defaults; see :class:`CoMentionScorer`).

    The defaults are the best ReDial-dev Recall@10 of a 113-setting grid over ``w_co``,
    ``w_kg``, ``w_text``, ``w_seq`` and ``w_pop`` (5-fold, scorer fitted on the other folds,
    offline, with a ReDial-wide mention prior the bench no longer adds): R@10 0.172 / R@50
    0.354 against 0.157 / 0.346 for the earlier (3, 2, 1, 1, 0.4). Chosen on the same
    dialogues they are reported on, so slightly optimistic.

    Args:
        w_pop: weight of normalised log-popularity.
        w_co: weight of the co-mention similarity to the context items.
        w_kg: weight of the KG similarity to the context items and entities.
        w_text: weight of the word -> item association of the conversation text.
        mention_weight: a mention counts this much toward popularity (a suggestion counts 1).
        hub_df: entities linked to more than this share of the items are ignored in the KG term.
        text_smoothing: additive smoothing ``alpha`` of the word -> entity profiles.
        w_co2: weight of the two-step co-mentions (items mentioned with the items mentioned
            with the context), which reach further than ``co`` when few dialogues name a
            context item. 0 by default: the reranker is fed it whatever its weight (on
            ReDial-dev it lifts R@50 a little and costs a little R@10: see
            ``bench.crs_bench``).
        w_seq: weight of the directed "mentioned before -> suggested" association.
        w_word: weight of the direct word -> suggested item association.
        w_self: weight of the context items themselves ("suggest again what was mentioned").
            0 by default: a recommender should not echo the user's own examples. ReDial's
            protocol counts a recommender re-mentioning a movie as a new suggestion, so its
            benchmark sets it (see ``bench.crs_bench``).
        w_entity: weight of the KG similarity to the linked non-item entities (a person, a
            studio named in the message).
        w_title: weight of the text-embedding similarity to the context items (needs the
            scorer's ``item_vectors``).
        w_query: weight of the similarity of the conversation's text embedding to the items'
            (needs ``item_vectors`` and ``encode_text``).
        w_near: weight of the votes of the training conversations most similar to this one
            (needs ``encode_text``; encodes every training suggestion's context at ``fit``).
        near_power: sharpness ``rho`` of those votes (cosine similarity to this power).
        seeker_mentions: :meth:`~CoMentionScorer.fit` also learns from the seeker's side:
            a seeker's message that names a movie for the first time counts as a suggestion
            of it after the conversation so far (popularity, the ``seq``, ``word`` and
            ``near`` associations and the reranker's rows; see
            :func:`~models.crs.crs_dialogue.with_first_mentions`). On ReDial-dev that adds
            about 1,550 examples to 3,310 suggestions.
        off_terms: terms the scorer never computes, for its weights nor its re-ranker's
            features (an ablation: :data:`KG_TERMS` is the scorer without the knowledge
            graph, as ``bench.crs_curve`` compares it).
    """

    w_pop: float = 0.4
    w_co: float = 2.0
    w_kg: float = 3.0
    w_text: float = 0.5
    w_co2: float = 0.0
    w_seq: float = 0.5
    w_word: float = 0.0
    w_self: float = 0.0
    w_entity: float = 3.0
    w_title: float = 0.0
    w_query: float = 0.0
    w_near: float = 0.0
    near_power: float = 4.0
    mention_weight: float = 0.2
    hub_df: float = 0.05
    text_smoothing: float = 1.0
    seeker_mentions: bool = False
    off_terms: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from models.crs.reranker import TERM_NAMES

        unknown = sorted(set(self.off_terms) - set(TERM_NAMES))
        if unknown:
            raise ValueError(f"off_terms: unknown term(s) {unknown}; terms: {list(TERM_NAMES)}")
        object.__setattr__(self, "off_terms", tuple(dict.fromkeys(self.off_terms)))


#: The terms that read the knowledge graph: the KG similarity to the context items (``kg``)
#: and to the linked entities (``entity``), and the words' KG entity profiles (``text``).
#: Without them the scorer is counts, words and text vectors only.
KG_TERMS = ("kg", "entity", "text")

#: The terms counted from pairs of movies in the training dialogues: co-mentions (``co``),
#: two-step co-mentions (``co2``) and "mentioned before -> suggested" (``seq``).
CO_MENTION_TERMS = ("co", "co2", "seq")

#: The groups of terms ``bench.crs_bench --without`` can leave out, by name.
TERM_GROUPS = {"kg": KG_TERMS, "co-mentions": CO_MENTION_TERMS}


__all__ = ["CO_MENTION_TERMS", "KG_TERMS", "TERM_GROUPS", "CoMentionConfig"]
