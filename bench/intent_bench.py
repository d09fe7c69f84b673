"""Intent-parsing benchmark on the labelled set ``models/intent/data/intent_eval.jsonl``.

    .venv/bin/python -m bench.intent_bench                      # embedded only
    .venv/bin/python -m bench.intent_bench --backends all       # + llm-local, llm-remote, hybrid
    .venv/bin/python -m bench.intent_bench --only price_words,audience,gift,use,season,numbered

Prints, per backend and split (``test`` = the held-out part the embedded head never saw,
``all`` = every utterance): intent accuracy, mention (slot) F1 with precision/recall (match on
casefolded text + label + negation; ``F1txt`` ignores the label), constraint exact match
(price min/max/relative, references, clear flag), and per-``parse`` latency p50/p95 as wall
clock and as this thread's CPU time (the CPU figures are the stable ones on a shared, loaded
box), plus which backend answered (fallbacks included). ``--only`` keeps the utterances whose
id starts with one of the given families (e.g. the shopper-words families of issue 19: price
words with no number, audience, gift, use, season, a count before the thing).

LLM backends decode on the CPU here, so they run on ``--llm-limit`` test utterances (two per
intent type first, then in file order) unless ``--llm-limit 0`` asks for all. ``llm-remote``
talks to ``--endpoint``; ``--endpoint loopback`` (default) serves the llm-local model behind a
tiny OpenAI-compatible HTTP server on 127.0.0.1, so the figures measure the remote code path
with the same model. The embedding cache is off so every message pays its encoder forward. A
static head's token table is complete, as `kgrec serve` has it (computed once, then read from
``bench/out/cache``), so no message waits for a token's first vector.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from kgrec.domain import IntentType
from kgrec.sentence_embedding import INFERENCE_DTYPES
from models.intent import (
    EmbeddedIntentParser,
    HybridIntentParser,
    IntentConfig,
    IntentParser,
    LocalLLMIntentParser,
    RemoteLLMIntentParser,
)
from models.intent.dataset import EvalExample, load_eval_set, load_lexicon
from models.intent.evaluation import EvalReport, evaluate

logger = logging.getLogger(__name__)

#: where the static token table is saved for the next run (crs_bench keeps its title vectors there)
CACHE_DIR = Path(__file__).resolve().parent / "out" / "cache"

BACKENDS = ("embedded", "llm-local", "llm-remote", "hybrid")


class _CpuTimed(IntentParser):
    """Wraps a parser to record this thread's CPU time per ``parse`` (milliseconds)."""

    def __init__(self, inner: IntentParser) -> None:
        self.inner = inner
        self.name = inner.name
        self.cpu_ms: list[float] = []

    def parse(self, message, *, previous=None):  # type: ignore[no-untyped-def]
        c0 = time.thread_time()
        out = self.inner.parse(message, previous=previous)
        self.cpu_ms.append((time.thread_time() - c0) * 1000)
        return out


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def llm_subset(examples: list[EvalExample], limit: int) -> list[EvalExample]:
    """Two per intent type first, then file order, ``limit`` in all (0: everything)."""
    if limit <= 0 or limit >= len(examples):
        return examples
    picked: list[EvalExample] = []
    for t in IntentType:
        picked += [e for e in examples if e.type == t][:2]
    picked += [e for e in examples if e not in picked]
    return picked[:limit]


@contextmanager
def loopback_endpoint(llm: LocalLLMIntentParser) -> Iterator[str]:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1 answering with ``llm``."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                text, _ = llm._complete(body["messages"], budget_s=600.0)
            except Exception as e:  # the client sees an unusable reply, as from a real server
                text = f"error: {e}"
            payload = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": text}}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


def row(name: str, split: str, rep: EvalReport, cpu: list[float]) -> str:
    answered = ", ".join(
        f"{k} {v} (acc {rep.backend_correct[k] / v:.2f})" for k, v in rep.backends.most_common()
    )
    return (
        f"{name:<11} {split:<5} {rep.n:>4}  {rep.accuracy:6.3f}  {rep.mention_f1:6.3f} "
        f"({rep.mention_precision:.3f}/{rep.mention_recall:.3f})  {rep.mention_f1_text:6.3f}  "
        f"{rep.constraint_match:6.3f}  {rep.percentile_ms(50):8.1f} {rep.percentile_ms(95):8.1f}"
        f"  {_pct(cpu, 50):7.1f} {_pct(cpu, 95):7.1f}  {answered}"
    )


HEADER = (
    f"{'backend':<11} {'split':<5} {'n':>4}  {'acc':>6}  {'F1':>6} {'(P/R)':<13}  {'F1txt':>6}  "
    f"{'constr':>6}  {'p50 ms':>8} {'p95 ms':>8}  {'cpu p50':>7} {'cpu p95':>7}  answered by"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", default="embedded", help=f"comma list of {BACKENDS} or 'all'")
    ap.add_argument("--eval-set", default=None)
    ap.add_argument("--lexicon", default=None)
    ap.add_argument("--llm-model", default=None, help="HF dir or .gguf (default: SmolLM2 GGUF)")
    ap.add_argument("--endpoint", default="loopback", help="llm-remote base URL or 'loopback'")
    ap.add_argument("--remote-model", default="local")
    ap.add_argument("--llm-limit", type=int, default=12, help="LLM test utterances (0 = all)")
    ap.add_argument("--budget-ms", type=float, default=60_000.0, help="LLM budget per message")
    ap.add_argument("--hybrid-budget-ms", type=float, default=10_000.0)
    ap.add_argument("--threshold", type=float, default=0.7, help="hybrid confidence threshold")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument(
        "--encoder-dtype",
        choices=INFERENCE_DTYPES,
        default="float32",
        help="the MiniLM forward's dtype, as the server's encoder_dtype setting (its default "
        "auto is bfloat16 on a CPU with native bfloat16)",
    )
    ap.add_argument("--errors", action="store_true", help="list the embedded test errors")
    ap.add_argument("--only", default="", help="comma list of id families (prefixes) to keep")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(args.threads)
    from kgrec.minilm import set_inference_dtype

    print(f"MiniLM forward in {set_inference_dtype(args.encoder_dtype)}")
    names = BACKENDS if args.backends == "all" else tuple(args.backends.split(","))
    examples = load_eval_set(args.eval_set)
    if args.only:
        families = tuple(f"{f.strip()}-" for f in args.only.split(",") if f.strip())
        examples = [e for e in examples if e.id.startswith(families)]
    test = [e for e in examples if e.split == "test"]
    lexicon = load_lexicon(args.lexicon)
    base = IntentConfig(
        embedding_cache=0,
        llm_model_path=args.llm_model,
        budget_ms=args.budget_ms,
        remote_model=args.remote_model,
        hybrid_threshold=args.threshold,
    )
    embedded = EmbeddedIntentParser(base, lexicon)
    t0 = time.perf_counter()
    embedded.warm_up()
    if embedded.encoder.kind == "static":
        from kg.linking import StaticMiniLMEncoder

        StaticMiniLMEncoder.shared(cache_dir=CACHE_DIR).precompute()
    print(
        f"embedded warm-up ({embedded.encoder.kind} encoder + head load):"
        f" {time.perf_counter() - t0:.1f} s"
    )
    print(f"eval set: {len(examples)} utterances, {len(test)} held out (test)")
    llm: LocalLLMIntentParser | None = None
    if any(n != "embedded" for n in names):
        llm = LocalLLMIntentParser(replace(base, backend="llm-local"), lexicon, fallback=embedded)
        t0 = time.perf_counter()
        llm.warm_up()
        print(f"llm-local model load: {time.perf_counter() - t0:.1f} s ({llm._resolve()[1]})")
    print()
    print(HEADER)
    for name in names:
        if name == "embedded":
            for split, exs in (("test", test), ("all", examples)):
                timed = _CpuTimed(embedded)
                rep = evaluate(timed, exs, embedded)
                print(row(name, split, rep, timed.cpu_ms), flush=True)
                if args.errors and split == "test":
                    msg = {e.id: e.message for e in exs}
                    for eid, what in rep.errors:
                        print(f"    {eid}: {msg[eid]!r}: {what}")
        elif name == "llm-local":
            assert llm is not None
            timed = _CpuTimed(llm)
            exs = llm_subset(test, args.llm_limit)
            print(row(name, "test", evaluate(timed, exs, embedded), timed.cpu_ms), flush=True)
        elif name == "llm-remote":
            assert llm is not None
            exs = llm_subset(test, args.llm_limit)
            if args.endpoint == "loopback":
                with loopback_endpoint(llm) as url:
                    cfg = replace(base, backend="llm-remote", endpoint_url=url)
                    remote = RemoteLLMIntentParser(cfg, lexicon, fallback=embedded)
                    timed = _CpuTimed(remote)
                    rep = evaluate(timed, exs, embedded)
            else:
                cfg = replace(base, backend="llm-remote", endpoint_url=args.endpoint)
                timed = _CpuTimed(RemoteLLMIntentParser(cfg, lexicon, fallback=embedded))
                rep = evaluate(timed, exs, embedded)
            print(row(name, "test", rep, timed.cpu_ms), flush=True)
        elif name == "hybrid":
            assert llm is not None
            cfg = replace(base, backend="hybrid", budget_ms=args.hybrid_budget_ms)
            timed = _CpuTimed(HybridIntentParser(cfg, lexicon, embedded=embedded, llm=llm))
            print(row(name, "test", evaluate(timed, test, embedded), timed.cpu_ms), flush=True)
        else:
            raise SystemExit(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    by_type = Counter(e.type.value for e in test)
    print(f"\ntest split by type: {dict(sorted(by_type.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
