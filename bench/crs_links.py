"""Which movies the server links in ReDial seekers' messages, against the ``@id`` mentions.

    .venv/bin/python -m bench.crs_links --data ../shared/data [--limit 300] [--show 20]

ReDial's seekers typed movies through an ``@id`` picker, so each message says which movies it
names. The message (``@id`` written as ``"Title (Year)"``, as ``bench.crs_bench`` sends it)
goes through the served pipeline's parser and entity linker, over the same imported graph,
and the linked movies are compared with the ``@id`` ones:

* **recall**: ``@id`` movies that were linked;
* **precision**: linked movies that are ``@id`` movies. Some "wrong" links are real mentions
  the seeker typed without the picker ("i loved the help"); the listed top offenders say which.

A wrong link puts a movie the seeker never named into the scorer's context for the rest of
the session, which is where ``crs_bench``'s served rows lose against its ideal-context row.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.crs_setup import DATASETS, graph, make_pipeline
from models.crs.crs_dialogue import SEEKER
from server.builder import LINKABLE_LABELS

log = logging.getLogger(__name__)


def audit(
    root: Path, limit: int | None, parser: Any = None
) -> tuple[Counter[str], Counter[tuple[str, str]]]:
    """Counts (``messages``, ``named``, ``linked``, ``found``, ``wrong``) over the seeker
    messages of the first ``limit`` dialogues, and the wrong links as ``(mention text, movie
    title)``. ``parser``: the served embedded parser unless given (tests)."""
    data = DATASETS["redial"](root)
    title = dict(zip(data.item_ids, data.titles, strict=True))
    counts: Counter[str] = Counter()
    wrong: Counter[tuple[str, str]] = Counter()
    with tempfile.TemporaryDirectory(prefix="crs-links-") as tmp, graph(data, Path(tmp)) as store:
        lexicon = store.lexicon(LINKABLE_LABELS)  # what `kgrec serve` links against
        pipeline = make_pipeline(store, None, 1, lexicon, parser, data_dir=Path(tmp))
        for d in data.dialogues[:limit]:
            for m in d.messages:
                if m.role != SEEKER or not m.text.strip():
                    continue
                linked = _linked_movies(pipeline, m.text, title)
                named = set(m.item_ids)
                counts["messages"] += 1
                counts["named"] += len(named)
                counts["linked"] += len(linked)
                counts["found"] += len(named & linked.keys())
                for entity, text in linked.items():
                    if entity not in named:
                        counts["wrong"] += 1
                        wrong[(text, title[entity])] += 1
    return counts, wrong


def _linked_movies(pipeline: Any, text: str, movies: Mapping[str, str]) -> dict[str, str]:
    """``{movie id: mention text}`` of the movies the pipeline's parser and link step
    (:meth:`~server.pipeline.Pipeline.resolve`) find in ``text``, negated mentions left out."""
    linked: dict[str, str] = {}
    for mention in pipeline.parser.parse(text).mentions:
        entity = None if mention.negated else pipeline.resolve(mention)
        if entity is not None and entity.entity_id in movies:
            linked.setdefault(entity.entity_id, mention.text)
    return linked


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--limit", type=int, default=300, help="the first N dialogues (0: all)")
    p.add_argument("--show", type=int, default=20, help="how many wrong links to list")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    counts, wrong = audit(a.data, a.limit or None)
    named, linked = counts["named"], counts["linked"]
    print(f"\nReDial-dev seeker messages: {counts['messages']} ({a.limit or 'all'} dialogues)")
    print(f"@id movies named {named}, movies linked {linked}")
    print(f"recall    {counts['found'] / max(named, 1):.3f}  ({counts['found']} of {named})")
    print(f"precision {(linked - counts['wrong']) / max(linked, 1):.3f}  ({counts['wrong']} wrong)")
    print("most frequent wrong links (mention -> movie):")
    for (text, movie), n in wrong.most_common(a.show):
        print(f"  {n:4d}  {text!r} -> {movie}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
