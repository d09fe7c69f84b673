"""Dialogue helpers of the conversational scorer: the seeker's first mentions as examples."""

from __future__ import annotations

import dataclasses

import numpy as np

from models.crs import CrsDialogue, CrsMessage, target_turns, with_first_mentions
from models.scoring import CoMentionConfig, CoMentionScorer

IDS = [f"m{i}" for i in range(6)]


def _asking(n: int) -> CrsDialogue:
    """The seeker asks for something spooky and names m5 itself; the recommender suggests
    nothing, so without the seeker's side there is nothing to learn."""
    return CrsDialogue(
        f"d{n}",
        (
            CrsMessage("seeker", "something spooky please"),
            CrsMessage("recommender", "what did you like lately?"),
            CrsMessage("seeker", "m5 and m0", ("m5", "m0")),
            CrsMessage("recommender", "m0 is good", ("m0",)),
            CrsMessage("seeker", "m5 again", ("m5",)),
        ),
    )


def test_with_first_mentions_makes_a_seekers_new_movies_its_targets() -> None:
    d = CrsDialogue(
        "x",
        (
            CrsMessage("recommender", "have you seen m1?", ("m1",)),
            CrsMessage("seeker", "m1 yes, and m2, m2", ("m1", "m2", "m2")),
            CrsMessage("recommender", "try m3", ("m3", "m2"), ("m3",)),
            CrsMessage("seeker", "m2 and m4", ("m2", "m4")),
        ),
    )
    out = with_first_mentions(d)
    assert [m.targets for m in out.messages] == [(), ("m2",), ("m3",), ("m4",)]
    assert [m.item_ids for m in out.messages] == [m.item_ids for m in d.messages]
    # the targets' contexts are what came before them, as for a recommender's suggestion
    turns = [(m.targets, context) for m, context, _ in target_turns(out)]
    assert turns == [
        (("m2",), ["m1"]),
        (("m3",), ["m1", "m1", "m2", "m2"]),
        (("m4",), ["m1", "m1", "m2", "m2", "m3", "m2"]),
    ]
    assert with_first_mentions(d, role="nobody") == d


def test_scorer_learns_from_seeker_mentions_only_when_configured() -> None:
    train = [_asking(n) for n in range(4)]
    words_only = CoMentionConfig(w_pop=0, w_co=0, w_kg=0, w_text=0, w_seq=0, w_word=1)
    plain = CoMentionScorer(IDS, config=words_only).fit(train)
    assert "word" not in plain.terms([], "spooky")  # no suggestion ever followed a word
    learned = CoMentionScorer(
        IDS, config=dataclasses.replace(words_only, seeker_mentions=True)
    ).fit(train)
    s = learned.scores([], "anything spooky?")
    assert IDS[int(np.argmax(s))] in {"m5", "m0"}
    assert s[IDS.index("m5")] == s[IDS.index("m0")] > s[IDS.index("m1")]
    # popularity: each first mention counts as a suggestion (m5 and m0 four times, the
    # recommender's m1 once), a repeat of it does not (m5 twice a dialogue, m0 once)
    suggesting = [*train, CrsDialogue("r", (CrsMessage("recommender", "m1", ("m1",), ("m1",)),))]
    pop = CoMentionScorer(IDS, config=CoMentionConfig(seeker_mentions=True)).fit(suggesting)
    with_seeker = pop.terms([])["pop"]
    assert with_seeker[IDS.index("m5")] == with_seeker[IDS.index("m0")] > with_seeker[1]
    without = CoMentionScorer(IDS).fit(suggesting).terms([])["pop"]
    assert without[IDS.index("m5")] < without[1]
