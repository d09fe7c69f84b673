"""Replaying logged conversations through a served pipeline, and what the replay counts.

The evaluation of a conversational model as a shopper meets it: every dialogue is one session
of real ``Recommend`` calls over gRPC (the generated stubs, a real server on a free loopback
port), and at each turn where the log's assistant recommended something, the served ranking
is scored. ``kgrec evaluate --conversations`` and ``bench.crs_bench`` both replay with it.

Protocol of :func:`replay`, one session per dialogue, messages in order:

* every seeker message is one ``Recommend`` call (``mode="turn"``: that message; ``"history"``:
  the dialogue so far, both sides, newest last, cut to ``MAX_MESSAGE_CHARS``);
* the recommender's movie mentions go with the next call as ``context_item_ids``;
* at a recommender message with targets, the latest ranking (``limit=50``) is scored (one more
  call first when the recommender mentioned items since); with no call yet ``"hello"`` is sent.
  Each (turn, target) is one sample; a target some earlier message named is a *repeat*
  (:meth:`Tally.without_repeats` drops them).
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.crs.crs_dialogue import SEEKER, CrsDialogue

log = logging.getLogger(__name__)

__all__ = [
    "HEADER",
    "KS",
    "MAX_MESSAGE_CHARS",
    "ROW_WIDTH",
    "Tally",
    "dialogue_hits",
    "rank_of",
    "replay",
    "serve_and_replay",
]

KS = (1, 10, 50)
MAX_MESSAGE_CHARS = 2000
OPENING = "hello"


@dataclass
class Tally:
    """Ranks of the targets (``None``: not in the returned top 50) and call latencies."""

    ranks: list[int | None] = field(default_factory=list)
    #: per sample: was the target mentioned earlier in its dialogue (a "repeat")?
    repeats: list[bool] = field(default_factory=list)
    in_catalog: int = 0
    turns: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    per_dialogue: list[int] = field(default_factory=list)  # samples of each dialogue, in order

    @property
    def dialogues(self) -> int:
        return len(self.per_dialogue)

    def recall(self, k: int) -> float:
        if not self.ranks:
            return 0.0
        return sum(1 for r in self.ranks if r is not None and r < k) / len(self.ranks)

    def interval(self, k: int, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
        """95% bootstrap interval of Recall@k, resampling whole dialogues (a dialogue's
        samples share a context, so they are not independent draws)."""
        if not self.per_dialogue or sum(self.per_dialogue) != len(self.ranks):
            return (float("nan"), float("nan"))
        hits, counts = dialogue_hits(self.ranks, self.per_dialogue, k)
        draw = np.random.default_rng(seed).integers(0, len(counts), (resamples, len(counts)))
        recall = hits[draw].sum(1) / np.maximum(counts[draw].sum(1), 1.0)
        low, high = np.percentile(recall, [2.5, 97.5])
        return float(low), float(high)

    def add_dialogue(self, samples: int) -> None:
        self.per_dialogue.append(samples)

    def add_sample(self, rank: int | None, repeat: bool) -> None:
        self.ranks.append(rank)
        self.repeats.append(repeat)

    def without_repeats(self) -> Tally:
        """The samples whose target no earlier message of the dialogue mentioned (the
        repeats-removed protocol of Kostric & Balog's ReDial reproducibility study: a
        recommender re-mentioning a movie the seeker named is not a recommendation a shop
        wants). Dialogues keep their place (with fewer, or no, samples)."""
        out = Tally(in_catalog=0, turns=self.turns, latencies_ms=self.latencies_ms)
        if len(self.repeats) != len(self.ranks):
            raise ValueError("samples without repeat flags")
        start = 0
        for count in self.per_dialogue:
            kept = [
                r
                for r, rep in zip(
                    self.ranks[start : start + count],
                    self.repeats[start : start + count],
                    strict=True,
                )
                if not rep
            ]
            out.ranks += kept
            out.repeats += [False] * len(kept)
            out.per_dialogue.append(len(kept))
            start += count
        out.in_catalog = self.in_catalog - sum(self.repeats)  # repeats were all in the catalog
        return out

    def merge(self, other: Tally) -> None:
        self.ranks += other.ranks
        self.repeats += other.repeats
        self.per_dialogue += other.per_dialogue
        self.in_catalog += other.in_catalog
        self.turns += other.turns
        self.latencies_ms += other.latencies_ms

    def row(self, name: str) -> str:
        lat = f"{statistics.median(self.latencies_ms):8.1f}" if self.latencies_ms else "       -"
        cov = f"{self.in_catalog}/{len(self.ranks)}"
        r = "  ".join(f"{self.recall(k):6.4f}" for k in KS)
        return f"{name:<{ROW_WIDTH}} {self.dialogues:>5} {self.turns:>6} {cov:>11}  {r}  {lat}"


ROW_WIDTH = 56  # the longest row name: "served not-shown: comention, turn, pool 300 [no repeats]"
HEADER = (
    f"{'row':<{ROW_WIDTH}} {'dlgs':>5} {'turns':>6} {'coverage':>11}  "
    f"{'R@1':>6}  {'R@10':>6}  {'R@50':>6}  {'p50 ms':>8}"
)


def dialogue_hits(
    ranks: Sequence[int | None], per_dialogue: Sequence[int], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per dialogue (``per_dialogue[i]`` consecutive samples each): how many targets
    ``ranks`` puts within ``k``, and how many samples it has."""
    hit = np.array([r is not None and r < k for r in ranks], dtype=np.float64)
    owner = np.repeat(np.arange(len(per_dialogue)), per_dialogue)
    hits = np.bincount(owner, weights=hit, minlength=len(per_dialogue))
    return hits, np.asarray(per_dialogue, dtype=np.float64)


def rank_of(target: str, ranking: Sequence[str]) -> int | None:
    try:
        return list(ranking).index(target)
    except ValueError:
        return None


def _history_text(history: list[str]) -> str:
    text = "\n".join(history)
    return text[-MAX_MESSAGE_CHARS:].lstrip()


async def replay(
    stub: Any, pb: Any, dialogue: CrsDialogue, catalog: set[str], mode: str, explain: bool
) -> Tally:
    """Replay one dialogue in one session; see the module docstring for the protocol."""
    tally = Tally()
    session_id = ""
    pending: list[str] = []  # recommender-mentioned movies not sent yet
    history: list[str] = []
    ranking: list[str] | None = None
    stale = False  # something happened since the last call that history mode would send

    async def call(message: str) -> list[str]:
        nonlocal session_id, pending
        request = pb.RecommendRequest(
            session_id=session_id,
            message=message,
            limit=max(KS),
            context_item_ids=list(dict.fromkeys(pending)),
            explain=explain,
        )
        started = time.perf_counter()
        response = await stub.Recommend(request)
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        session_id = response.session_id
        pending = []
        return [item.item_id for item in response.items]

    mentioned: set[str] = set()  # every movie named so far, by either side
    for m in dialogue.messages:
        if m.targets:
            tally.turns += 1
            if ranking is None:
                message = _history_text(history) if mode == "history" and history else ""
                ranking = await call(message or (OPENING if not pending else ""))
            elif pending or (mode == "history" and stale):
                ranking = await call(_history_text(history) if mode == "history" else "")
            stale = False
            for t in m.targets:
                tally.in_catalog += t in catalog
                tally.add_sample(rank_of(t, ranking), t in mentioned)
        mentioned.update(m.item_ids)
        if m.role == SEEKER:
            history.append(m.text)
            if m.text.strip():
                ranking = await call(_history_text(history) if mode == "history" else m.text)
                stale = False
        else:
            history.append(m.text)
            pending += m.item_ids
            stale = True
    tally.add_dialogue(len(tally.ranks))
    return tally


async def serve_and_replay(
    pipeline: Any,
    dialogues: Sequence[CrsDialogue],
    catalog: set[str],
    mode: str,
    explain: bool,
    settings: Any = None,
) -> Tally:
    """Serve ``pipeline`` on a free loopback port (``settings`` with the port replaced; by
    default a plain local server) and replay ``dialogues`` through it."""
    import grpc

    from kgrec.v1 import recommender_pb2 as pb
    from kgrec.v1 import recommender_pb2_grpc as pb_grpc
    from server.app import start_server
    from server.settings import Settings

    if settings is None:
        settings = Settings(demo=False, max_message_chars=MAX_MESSAGE_CHARS)
    # the replay is a local client: plaintext loopback, no keys
    settings = settings.replace(
        host="127.0.0.1", port=0, api_keys="", tls_cert="", tls_key="", tls_client_ca=""
    )
    running = await start_server(settings, pipeline)
    tally = Tally()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.RecommenderServiceStub(channel)
            for n, d in enumerate(dialogues, start=1):
                tally.merge(await replay(stub, pb, d, catalog, mode, explain))
                if n % 50 == 0:
                    log.info(
                        "%d/%d dialogues, R@10 so far %.4f", n, len(dialogues), tally.recall(10)
                    )
    finally:
        await running.stop(1.0)
    return tally
