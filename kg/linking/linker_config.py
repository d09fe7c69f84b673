"""Typed settings of :class:`kg.linking.EntityLinker`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LinkerConfig:
    """How mentions are matched and scored.

    Every signal yields a score in ``[0, 1]`` meant to read as the chance that the candidate is
    the right entity (checked per score bin by ``bench/linking_bench.py``); a candidate's score
    is the best over its signals, and the top score must reach ``nil_threshold`` or the
    mention is NIL (not in the graph).

    Signals, strongest first:

    * ``exact`` / ``alias`` — the normalised mention equals a name / an alias.
    * ``normalized`` — equal after plural folding and ignoring spaces (``T Shirts`` ≡ ``t-shirt``).
    * ``fuzzy`` — within optimal-string-alignment distance 1 (keys of ``min_len_one_edit`` or
      more characters) or 2 (``min_len_two_edits`` or more);
      ``score = fuzzy_score * (1 - d / len)^fuzzy_power``, times ``first_letter_penalty`` when
      the first letters differ; never across different numbers (``Toy Story 3``). Lexicons
      of more than ``fuzzy_block_above`` keys are searched among keys with the mention's
      first letter only (latency).
    * ``acronym`` — a one-word mention equal to the initials of a multi-word name (labels in
      ``acronym_labels``; all labels when empty).
    * ``prefix`` — the mention is the first words of a name (``terminator 2`` → *Terminator 2:
      Judgment Day*), scaled by the fraction of the name it covers.
    * ``surname`` — the last word of a person's name (labels in ``surname_labels``).
    * ``fulltext`` — the store's fulltext index (when a store is given; ``fulltext_labels``,
      default: the lexicon's labels) for mentions of ``fulltext_min_words`` or more content
      words, rescored as ``fulltext_score * found * covered`` (the fraction of the mention's
      words in the name, and of the name's words in the mention); it finds names from most
      of their words (*Monty Python Holy Grail*) and nodes added since the last
      :meth:`~EntityLinker.refresh`.
    * ``embedding`` — cosine similarity of MiniLM embeddings, mapped linearly from
      ``[embed_low, embed_high]`` to ``[0, embed_score]``; computed only when the best cheaper
      signal is below ``embed_below``. Only names of ``embed_labels`` are embedded (all when
      empty): brand and person names carry little meaning for a sentence encoder and pull
      product words toward them ("sneakers" is closer to *Nike* than to *Running shoes*).

    Trailing ``generic_words`` are also tried stripped (``horror movies`` → ``horror``), and
    ``expansions`` both ways (``science fiction`` → ``sci fi``).

    A candidate that shares its matching key with ``n`` other entities loses
    ``ambiguity_penalty * n``. ``label_hint`` raises matching candidates by ``hint_bonus`` of
    their distance to 1 and lowers the others by ``hint_penalty`` (a factor), so a hint breaks
    ties without forbidding other labels.
    """

    nil_threshold: float = 0.5
    exact_score: float = 1.0
    alias_score: float = 0.97
    normalized_score: float = 0.95
    aka_score: float = 0.93
    year_mismatch_penalty: float = 0.15
    fuzzy_score: float = 0.92
    fuzzy_power: float = 2.0
    min_len_one_edit: int = 4
    min_len_two_edits: int = 8
    first_letter_penalty: float = 0.8
    fuzzy_block_above: int = 20_000
    acronym_score: float = 0.8
    acronym_labels: tuple[str, ...] = ("Brand", "Category", "Attribute", "Product")
    prefix_score: float = 0.85
    prefix_min_chars: int = 5
    surname_score: float = 0.8
    surname_labels: tuple[str, ...] = ("Entity", "Person")
    fulltext_score: float = 0.85
    fulltext_k: int = 10
    fulltext_labels: tuple[str, ...] = ()
    fulltext_below: float = 0.8
    fulltext_min_words: int = 2
    embed_labels: tuple[str, ...] = ("Category", "Attribute")
    embed_score: float = 0.85
    embed_low: float = 0.65
    embed_high: float = 0.95
    embed_below: float = 0.9
    embed_k: int = 10
    embed_cache_size: int = 2048
    ambiguity_penalty: float = 0.05
    hint_bonus: float = 0.3
    hint_penalty: float = 0.9
    max_mention_chars: int = 200
    #: Surfaces that name nothing: imported Freebase nodes without a name are named by their
    #: mid ("m.0abc12"); linking to them is never intended and they crowd fuzzy matching.
    unlinkable_surface: str = r"^[mg]\.[0-9a-z_]+$"
    generic_words: tuple[str, ...] = ("movie", "movies", "film", "films", "flick", "flicks")
    #: Common abbreviations, tried both ways on whole words of the mention.
    expansions: tuple[tuple[str, str], ...] = (
        ("sci fi", "science fiction"),
        ("scifi", "science fiction"),
        ("rom com", "romantic comedy"),
        ("romcom", "romantic comedy"),
        ("doc", "documentary"),
        ("docs", "documentaries"),
        ("tv", "television"),
        ("bball", "basketball"),
    )
