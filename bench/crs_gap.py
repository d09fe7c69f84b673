"""Where the served conversational figure falls below the offline one (issue 13), sample by
sample, with fixed weights.

    .venv/bin/python -m bench.crs_gap --data ../shared/data [--dataset redial|inspired]
        [--limit N] [--folds K] [--protocol standard|repeats-removed] [--weights NAME=VALUE,...]
        [--pool N] [--hide on|off] [--examples N]

Each fold's scorer is fitted on the other folds' dialogues with the dataset's preset weights
(``bench.crs_bench.CONFIGS``, ``--weights`` overrides; never searched here), the served
pipeline is built by :func:`bench.crs_setup.make_pipeline` (:func:`server.builder.build_pipeline`)
and the fold's dialogues are replayed through the real gRPC server as :mod:`server.replay`
does. The pipeline's last step is wrapped (in this process only, the server code unchanged)
to keep, for each call, what the turn saw. At each sample (target of a scored turn) the
target's rank is read at each stage between the offline "ideal context" scoring of
``bench.crs_bench`` and the served ranking:

1. ``offline``: the scorer on the ideal context (every movie mentioned so far, the seeker's
   messages), over the whole catalog;
2. ``served items``: the same with the served turn's context items (the movies linked from
   the titles in the messages plus the ``context_item_ids`` sent) instead of the gold ids;
3. ``+ entities``: the served context's non-item entities (linked people, genres, the named
   items' categories/brands) added;
4. ``+ served text``: the session's recent messages as the scorer sees them instead of every
   seeker message (= the turn's model scores when no profile applies);
5. ``pool``: ranked by the same model scores among the turn's candidates only (the graph's
   ``candidate_pool`` plus the scorer's best, minus hidden and rejected items);
6. ``blend: model``, ``+ match``, ``+ shown``: the turn's candidates blended
   (:func:`models.scoring.blend.blend`) with the model and popularity terms, then the KG match
   term too, then the session's shown-and-passed-over penalty
   (:func:`models.dialogue.session_rules.passed_over`);
7. ``served``: the ranking the call returned (the same as ``+ shown`` unless a learning
   ranking policy, exploration or a disliked brand applies).

Printed: Recall@10/@50 at each stage, and per step how many samples leave / enter the top 10,
with per-cause counts (context items missing or extra, text differing, hard constraints,
target hidden, target outside the pool). ``--protocol repeats-removed`` reads only the samples
whose target no earlier message named (Kostric & Balog).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.crs_args import parse_weights
from bench.crs_bench import CONFIGS, _as_served, fold_scorer, text_embeddings
from bench.crs_setup import DATASETS, after_serving, folds, graph, make_pipeline
from models.crs.crs_dialogue import SEEKER, CrsDialogue
from models.dialogue.dialogue_state import conversation_text
from models.dialogue.session_rules import candidate_query
from models.scoring.blend import blend, zscore
from models.scoring.comention_training import corpus_text_encoder
from models.scoring.item_scorer import ScoringContext
from server.builder import LINKABLE_LABELS
from server.replay import KS, OPENING

log = logging.getLogger(__name__)

STAGES = (
    "offline", "served items", "+ entities", "+ served text", "pool",
    "blend: model", "+ match", "+ shown", "served",
)  # fmt: skip
MISS = 10**9  # rank of a target that is not there


@dataclass
class Sample:
    """One (turn, target) and the target's rank at each of :data:`STAGES`."""

    target: str
    repeat: bool
    ranks: list[int] = field(default_factory=list)
    causes: set[str] = field(default_factory=set)
    message: str = ""  # the served turn's message ("" for a turn on context items only)
    linked: list[str] = field(default_factory=list)  # the turn's linked entities, as label:id


def rank_in(scores: np.ndarray, row: int | None) -> int:
    """The rank a stable descending sort gives row ``row`` (``MISS`` for ``None``)."""
    if row is None:
        return MISS
    s = scores[row]
    return int(np.sum(scores > s) + np.sum(scores[:row] == s))


class TurnProbe:
    """Wraps ``pipeline.explain`` to keep, per call, what the turn's scorer and pool saw."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline, self.last = pipeline, None
        explain = pipeline.explain

        def probe(turn: Any) -> None:
            self.last = self.snapshot(turn)
            explain(turn)

        pipeline.explain = probe

    def snapshot(self, turn: Any) -> dict[str, Any]:
        state, cfg = turn.state, self.pipeline.config
        anchor = turn.update.anchor.item_id if turn.update and turn.update.anchor else None
        linked = [e.entity_id for e in turn.linked if not e.negated]
        query = candidate_query(state, cfg.candidate_pool)
        return {
            "blends": self.blends(turn),
            "ctx": ScoringContext.for_session(state, turn.query.user_id, linked, anchor),
            "model": getattr(turn.model, "scores", None),
            "candidates": [c.product.id for c in turn.candidates],
            "hard": query.has_hard_constraints,
            "excluded": set(query.exclude_item_ids)
            | (set(state.liked_item_ids) if cfg.hide_named_items else set()),
            "linked": [(e.label, e.entity_id, e.negated) for e in turn.linked],
            "message": turn.query.message,
        }

    def blends(self, turn: Any) -> list[list[str]]:
        """The turn's candidates blended (:func:`models.scoring.blend.blend`) with the model
        and popularity terms only, then with the KG match term, then with the session's
        shown-items penalty too (the served blend when nothing else applies): item ids, best
        first, the request's ``limit``."""
        state, cands, cfg = turn.state, turn.candidates, self.pipeline.config
        if turn.model is None or not cands:
            return [[], [], []]
        model = zscore(turn.model.for_items([c.product.id for c in cands]))
        shown = turn.passed_over()  # as the score step decides it
        full = cfg.blend_weights()
        out = []
        for weights, seen in (
            (dataclasses.replace(full, match=0.0), ()),
            (full, ()),
            (full, shown if cfg.demotes_shown else ()),
        ):
            ranked = blend(cands, limit=turn.query.limit, n_preferred=len(state.preferred_ids),
                           model=model, shown=seen, weights=weights)  # fmt: skip
            out.append([r.candidate.product.id for r in ranked])
        return out


def stage_ranks(scorer: Any, snap: dict[str, Any], context: list[str], text: str,
                target: str) -> tuple[list[int], set[str]]:  # fmt: skip
    """The target's rank at each stage of :data:`STAGES` but the last, and the causes seen."""
    row = scorer.index_of(target)
    ctx: ScoringContext = snap["ctx"]
    known = [i for i in ctx.context_ids if scorer.index_of(i) is not None]
    causes = set()
    if set(context) - set(known):
        causes.add("context item missing")
    if set(known) - set(context):
        causes.add("context item extra")
    if len(ctx.context_ids) > len(known):
        causes.add("entities added")
    if ctx.text != text:
        causes.add("text differs")
    if snap["hard"]:
        causes.add("hard constraints")
    if target in snap["excluded"]:
        causes.add("target hidden")
    if target not in snap["candidates"]:
        causes.add("target not in pool")
    ranks = [
        rank_in(scorer.scores(context, text), row),
        rank_in(scorer.scores(known, text), row),
        rank_in(scorer.scores(list(ctx.context_ids), text), row),
    ]
    model = snap["model"]
    full = scorer.scores(list(ctx.context_ids), ctx.text) if model is None else model
    ranks.append(rank_in(np.asarray(full), row))
    pool = [i for i in snap["candidates"] if scorer.index_of(i) is not None]
    if target in pool:
        scores = np.asarray(scorer.scores_for(pool, np.asarray(full)))
        ranks.append(rank_in(scores, pool.index(target)))
    else:
        ranks.append(MISS)
    for ranking in snap["blends"]:
        ranks.append(ranking.index(target) if target in ranking else MISS)
    return ranks, causes


async def replay(stub: Any, pb: Any, probe: TurnProbe, scorer: Any, d: CrsDialogue) -> list[Sample]:
    """:func:`server.replay.replay` (mode ``turn``) with each sample's stages read off."""
    samples: list[Sample] = []
    session_id, pending = "", []
    state: dict[str, Any] = {"ranking": None, "snap": None}

    async def call(message: str) -> None:
        nonlocal session_id, pending
        context = list(dict.fromkeys(pending))
        request = pb.RecommendRequest(session_id=session_id, message=message, limit=max(KS),
                                      context_item_ids=context, explain=False)  # fmt: skip
        response = await stub.Recommend(request)
        session_id, pending = response.session_id, []
        state["ranking"] = [item.item_id for item in response.items]
        state["snap"] = probe.last

    mentioned: list[str] = []
    said: list[str] = []
    for m in d.messages:
        if m.targets:
            if state["ranking"] is None:
                await call(OPENING if not pending else "")
            elif pending:
                await call("")
            text = conversation_text(said)
            for t in m.targets:
                ranks, causes = stage_ranks(scorer, state["snap"], list(mentioned), text, t)
                ranking = state["ranking"]
                ranks.append(ranking.index(t) if t in ranking else MISS)
                snap = state["snap"]
                linked = [f"{'-' if neg else ''}{lab}:{i}" for lab, i, neg in snap["linked"]]
                samples.append(Sample(t, t in mentioned, ranks, causes, snap["message"], linked))
        mentioned += m.item_ids
        if m.role == SEEKER:
            if m.text.strip():
                said.append(m.text.strip())
                await call(m.text)
        else:
            pending += m.item_ids
    return samples


async def serve_fold(pipeline: Any, scorer: Any, dialogues: Sequence[CrsDialogue]) -> list[Sample]:
    import grpc

    from kgrec.v1 import recommender_pb2 as pb
    from kgrec.v1 import recommender_pb2_grpc as pb_grpc
    from server.app import start_server
    from server.replay import MAX_MESSAGE_CHARS
    from server.settings import Settings

    probe = TurnProbe(pipeline)
    settings = Settings(demo=False, max_message_chars=MAX_MESSAGE_CHARS).replace(
        host="127.0.0.1", port=0, api_keys="", tls_cert="", tls_key="", tls_client_ca=""
    )
    running = await start_server(settings, pipeline)
    out: list[Sample] = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = pb_grpc.RecommenderServiceStub(channel)
            for d in dialogues:
                out += await replay(stub, pb, probe, scorer, d)
    finally:
        await running.stop(1.0)
    return out


def _read_samples(path: Path) -> list[Sample]:
    rows = json.loads(path.read_text())
    got = [(r, set(r["causes"]), r.get("message", ""), r.get("linked", [])) for r in rows]
    return [Sample(r["target"], r["repeat"], r["ranks"], c, m, x) for r, c, m, x in got]


def print_paired(after: Sequence[Sample], before: Sequence[Sample]) -> None:
    """Served hit@K after - before, sample by sample (the two runs replayed the same
    dialogues in the same order), with a bootstrap 95% interval over samples (a little
    narrower than one over dialogues, whose samples are correlated)."""
    from bench.paired import paired_bootstrap

    if [s.target for s in after] != [s.target for s in before]:
        raise SystemExit("--paired-with: the two files hold different samples")
    for k in KS[1:]:
        hit_a = np.array([s.ranks[-1] < k for s in after], dtype=float)
        hit_b = np.array([s.ranks[-1] < k for s in before], dtype=float)
        d = paired_bootstrap(hit_a, hit_b, samples=5000)
        up, down = int((hit_a > hit_b).sum()), int((hit_a < hit_b).sum())
        print(
            f"served R@{k}: {hit_b.mean():.4f} -> {hit_a.mean():.4f}, {d.mean:+.4f} "
            f"[{d.low:+.4f}, {d.high:+.4f}] over {d.users} samples ({up} up, {down} down)"
        )


def report(samples: Sequence[Sample], examples: int) -> None:
    n = len(samples)
    print(f"{n} samples")
    print(f"{'stage':<16} {'R@10':>7} {'R@50':>7}   {'left top 10':>11} {'entered':>8}  causes "
          f"among the samples that left the top 10 at this step")  # fmt: skip
    for k, name in enumerate(STAGES):
        r10 = sum(s.ranks[k] < 10 for s in samples) / max(n, 1)
        r50 = sum(s.ranks[k] < 50 for s in samples) / max(n, 1)
        left = [s for s in samples if k and s.ranks[k - 1] < 10 <= s.ranks[k]]
        entered = sum(1 for s in samples if k and s.ranks[k] < 10 <= s.ranks[k - 1])
        causes = Counter(c for s in left for c in s.causes)
        why = ", ".join(f"{c} {v}" for c, v in causes.most_common())
        print(f"{name:<16} {r10:7.4f} {r50:7.4f}   {len(left) if k else '':>11} "
              f"{entered if k else '':>8}  {why}")  # fmt: skip
    every = Counter(c for s in samples for c in s.causes)
    print("causes over all samples: " + ", ".join(f"{c} {v}" for c, v in every.most_common()))
    for s in [s for s in samples if s.ranks[0] < 10 <= s.ranks[-1]][:examples]:
        print(f"  lost: {s.target} ranks {s.ranks} causes {sorted(s.causes)}")
        print(f"        message {s.message[:160]!r} linked {s.linked}")
    sys.stdout.flush()


def cached_scorer(cache: Path | None, data: Any, train: Sequence[CrsDialogue], f: int,
                  config: Any, encode: Any) -> Any:  # fmt: skip
    """Fold ``f``'s scorer, saved and loaded back as ``kgrec serve`` loads one
    (:func:`bench.crs_bench._as_served`); with ``cache``, the copy kept there for these
    training dialogues and weights when there is one."""
    from models.scoring import load_scorer

    key = hashlib.sha256(repr((config, [d.id for d in train], len(data.item_ids))).encode())
    path = None if cache is None else cache / f"{data.name}-fold{f}-{key.hexdigest()[:16]}"
    if path is not None and path.exists():
        return load_scorer(path)
    fitted = fold_scorer(data, train, f, config, text_embeddings(data), encode_text=encode)
    if path is None:
        return _as_served(fitted, None)
    return load_scorer(fitted.save(path))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="offline vs served, stage by stage (bench.crs_gap)")
    p.add_argument("--data", type=Path, default=Path("../shared/data"))
    p.add_argument("--dataset", choices=["redial", "inspired"], default="redial")
    p.add_argument("--limit", type=int, default=200)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--protocol", choices=["standard", "repeats-removed"], default="standard")
    p.add_argument("--weights", default="")
    p.add_argument("--pool", type=int, default=300)
    p.add_argument("--examples", type=int, default=0, help="print this many lost samples")
    p.add_argument("--only-folds", default="", help="evaluate these folds only, e.g. '0,1'")
    p.add_argument(
        "--scorer-cache",
        type=Path,
        default=None,
        help="keep each fold's fitted scorer here and load it on the next run with the same "
        "data, limit-independent fold split and weights (a before/after of a pipeline "
        "change then replays the same scorer without refitting)",
    )
    p.add_argument("--out", type=Path, default=None, help="write the samples here (JSON)")
    p.add_argument("--read", type=Path, default=None, help="report samples written by --out")
    p.add_argument(
        "--paired-with",
        type=Path,
        default=None,
        help="with --read AFTER.json: the served R@10/R@50 differences AFTER - this file's "
        "(the same samples of another run, e.g. before a change), with bootstrap 95%% "
        "intervals over samples",
    )
    a = p.parse_args(argv)
    if a.read is not None:
        after = _read_samples(a.read)
        report(after, a.examples)
        if a.paired_with is not None:
            print_paired(after, _read_samples(a.paired_with))
        return 0
    import torch

    torch.set_num_threads(1)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("server", "kg", "models"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    data = DATASETS[a.dataset](a.data)
    config = dataclasses.replace(CONFIGS[a.dataset], **parse_weights(p, a.weights))
    repeats = a.protocol == "standard"
    if not repeats:
        config = dataclasses.replace(config, w_self=0.0)
    hide = config.w_self == 0  # as bench.crs_bench.protocol_runs
    print(f"{data.name}, first {a.limit} dialogues, {a.protocol}, hide named items {hide}, "
          f"weights {config}")  # fmt: skip
    n = len(data.dialogues)
    fold_of = folds(n, a.folds)
    encode = corpus_text_encoder()
    samples: list[Sample] = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="crs-gap-")))
        shared = None
        only = {int(x) for x in a.only_folds.split(",") if x.strip()}
        for f in range(a.folds):
            if only and f not in only:
                continue
            test = [data.dialogues[i] for i in range(min(n, a.limit)) if fold_of[i] == f]
            fold_data, train = data.for_fold(fold_of, f, tmp)
            with ExitStack() as fold_stack:
                if data.per_fold:
                    (tmp / f"fold{f}").mkdir()
                    store = fold_stack.enter_context(graph(fold_data, tmp / f"fold{f}"))
                    lexicon, data_dir = store.lexicon(LINKABLE_LABELS), tmp / f"fold{f}"
                else:
                    if shared is None:
                        one = stack.enter_context(graph(data, tmp))
                        shared = (one, one.lexicon(LINKABLE_LABELS))
                    (store, lexicon), data_dir = shared, tmp
                    if a.scorer_cache is not None:  # the parser's and linker's caches kept
                        data_dir = a.scorer_cache / f"serve-{data.name}"
                        data_dir.mkdir(parents=True, exist_ok=True)
                served = cached_scorer(a.scorer_cache, fold_data, train, f, config, encode)
                pipeline = make_pipeline(store, served, a.pool, lexicon, hide_named_items=hide,
                                         data_dir=data_dir)  # fmt: skip
                try:
                    got = asyncio.run(serve_fold(pipeline, served, test))
                finally:
                    after_serving()
                log.info("fold %d: %d dialogues, %d samples", f, len(test), len(got))
                samples += got
    if not repeats:
        samples = [s for s in samples if not s.repeat]
    if a.out is not None:  # to read again without replaying (``--read``)
        a.out.write_text(json.dumps([dataclasses.asdict(s) | {"causes": sorted(s.causes)}
                                     for s in samples]))  # fmt: skip
    report(samples, a.examples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
