"""Two intent heads on conversational chat: where they disagree, which one names the type.

    python -m bench.intent_chat --data ../shared/data --head-b B.json [--head-a A.json] \\
        [--sample 100 --seed 2 --exclude 25 --exclude-seed 1] [--from all] [--labels LABELS.txt]

The labelled set (``bench.intent_bench``) is mostly shop requests; a shop's assistant also
hears chat ("oh I loved that one", "bye", "I like horror movies"). This parses ReDial-dev's
seeker messages with head A (default: the shipped one) and head B, prints how often their
types differ, and draws a seeded sample of the messages where they do. Without ``--labels``
it prints that sample blind (``k | message``, neither head's answer) for a person to label
by the labelled set's conventions, one ``k type`` line each. With ``--labels`` it prints, of
the sample, how many only A gets right, only B, neither, the exact two-sided sign test of A
against B, and the commonest (gold, A, B) triples. ``--exclude N --exclude-seed S`` leaves
out the first N disagreements of another seeded order (ones already looked at with the
answers shown). ``--from all`` samples every message instead of the disagreements, so the
labels give each head's accuracy on chat (with a 95% Wilson interval). Messages are read
from ``--data`` and never written out except to the terminal.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.crs_setup import redial_data
from models.intent import EmbeddedIntentParser, IntentConfig


def seeker_messages(root: Path) -> list[str]:
    corpus = redial_data(root).corpus
    return [m.text for d in corpus.dialogues for m in d.messages if m.role == "seeker"]


def sign_test(a: int, b: int) -> float:
    """Exact two-sided p of ``a`` wins against ``b`` under a fair coin."""
    n = a + b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a, b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``hits / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def disagreements(
    messages: Sequence[str], types: dict[str, tuple[str, str]], seed: int, *, every: bool = False
) -> list[str]:
    """The non-blank messages in a seeded order: those the heads type differently, or
    ``every`` one."""
    order = [m for m in messages if m.strip()]
    random.Random(seed).shuffle(order)
    return [m for m in order if every or types[m][0] != types[m][1]]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--head-a", default=None, help="intent head JSON (default: the shipped one)")
    p.add_argument("--head-b", required=True, help="intent head JSON")
    p.add_argument("--sample", type=int, default=100)
    p.add_argument("--seed", type=int, default=2)
    p.add_argument("--exclude", type=int, default=0, help="disagreements already looked at")
    p.add_argument("--exclude-seed", type=int, default=1)
    p.add_argument("--from", dest="pool", choices=("disagreements", "all"), default="disagreements")
    p.add_argument("--labels", type=Path, default=None, help="'k type' lines for the sample")
    a = p.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    heads = [
        EmbeddedIntentParser(IntentConfig(head_path=h, embedding_cache=0))
        for h in (a.head_a, a.head_b)
    ]
    messages = [m for m in seeker_messages(a.data) if m.strip()]
    # a text many seekers wrote ("Hi", "Bye.") is parsed once
    types = {m: (str(heads[0].parse(m).type), str(heads[1].parse(m).type)) for m in set(messages)}
    differ = sum(types[m][0] != types[m][1] for m in messages)
    print(f"ReDial-dev seeker messages: {len(messages)}; the heads' types differ on {differ}")
    skip = set(disagreements(messages, types, a.exclude_seed)[: a.exclude])
    pool = disagreements(messages, types, a.seed, every=a.pool == "all")
    sample = [m for m in pool if m not in skip][: a.sample]
    if a.labels is None:
        for k, m in enumerate(sample):
            print(f"{k:3d} | {' '.join(m.split())[:220]}")
        return 0
    gold = dict(line.split() for line in a.labels.read_text().splitlines() if line.strip())
    if len(gold) != len(sample):
        p.error(f"{a.labels} labels {len(gold)} messages; the sample has {len(sample)}")
    only_a = only_b = neither = 0
    triples: Counter[tuple[str, str, str]] = Counter()
    for k, m in enumerate(sample):
        g, (ta, tb) = gold[str(k)], types[m]
        only_a += ta == g != tb
        only_b += tb == g != ta
        neither += g not in (ta, tb)
        triples[(g, ta, tb)] += 1
    n = len(sample)
    for name, k in (("A", 0), ("B", 1)):
        hits = sum(types[m][k] == gold[str(j)] for j, m in enumerate(sample))
        low, high = wilson(hits, n)
        print(f"head {name} right on {hits} of {n} ({hits / n:.2f}, 95% [{low:.2f}, {high:.2f}])")
    print(f"of {n} sampled {a.pool}: only A right {only_a}, only B right {only_b},")
    print(f"neither {neither}; sign test A against B p = {sign_test(only_a, only_b):.2g}")
    print("commonest (gold, A, B):")
    for (g, ta, tb), count in triples.most_common(10):
        print(f"  {count:4d}  gold {g:<9} A {ta:<9} B {tb}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
