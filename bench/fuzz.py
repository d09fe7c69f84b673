"""Hostile requests against the real service: does anything answer INTERNAL, crash the server,
grow it without bound or change the catalog?

    python -m bench.fuzz --requests 20000 --concurrency 8 [--seed 0] [--data-dir DIR]

Starts ``kgrec serve`` on loopback (a small demo store, no model training unless
``--train-model``) as a child process, reads a fingerprint of the catalog from its graph, then
sends ``--requests`` generated Recommend, RecommendStream and Feedback calls from
``--concurrency`` threads. The seed fixes the requests; only which real sessions get reused
depends on the timing of the answers when ``--concurrency`` > 1. Every request field gets
hostile values: random unicode from all planes, control, bidi and zero-width characters, huge
and non-finite numbers, Cypher and JSON fragments, prompt-injection text aimed at an LLM intent
parser, oversized text and lists, unknown enum values, invalid timestamps, real ids mixed with
fake ones, real sessions continued by someone else. Six in ten requests are moved inside the
validation rules (content still hostile) so they reach the parser, the graph and the
explainer. At the end it prints the calls by status code, the INTERNAL and UNKNOWN ones (with
their details), whether the server is still alive, its RSS before and after, the catalog
fingerprint before and after, and requests per second; it exits 1 when any call got a status
outside :data:`ACCEPTABLE`, the server died, or the fingerprint changed.

The generators (:class:`bench.hostile_requests.HostileRequests`) and
:func:`catalog_fingerprint` are also used by the property-based tests
(``tests/server/test_hostile_inputs.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc

from bench.hostile_requests import HostileRequests
from kg.schema import INTERACTED, NAMED_LABELS, PRODUCT
from kg.store import GraphStore
from kgrec.v1 import recommender_pb2 as pb
from kgrec.v1 import recommender_pb2_grpc as pb_grpc

# -- what must not change -------------------------------------------------------------------


def catalog_fingerprint(store: GraphStore) -> dict[str, object]:
    """The catalog as the graph holds it: node counts of the named labels, relationship counts
    (interactions left out: Feedback adds them), and a SHA-256 over every product's id, title,
    price, brand and category. Sessions, users, events and popularity are not catalog."""
    stats = store.stats()
    products = sorted(e.entity_id for e in store.lexicon((PRODUCT,)))
    digest = hashlib.sha256()
    for start in range(0, len(products), 500):
        for p in store.products(products[start : start + 500]):
            row = [p.id, p.title, p.price, p.currency, p.brand_id, p.category_id]
            digest.update(json.dumps(row, ensure_ascii=True).encode() + b"\n")
    return {
        "nodes": {lab: stats.nodes.get(lab, 0) for lab in NAMED_LABELS},
        "relationships": {t: n for t, n in stats.relationships.items() if t != INTERACTED},
        "products_sha256": digest.hexdigest()[:16],
    }


# -- what counts as a correct answer --------------------------------------------------------

#: Statuses a hostile request may get: the answer, a validation or lookup refusal, or (under
#: load) back-pressure and deadlines. INTERNAL, UNKNOWN, UNAVAILABLE, ... are failures.
ACCEPTABLE = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    rpc: str
    code: grpc.StatusCode
    details: str = ""
    request: str = ""  # the request as text, kept for failures only


def call_one(
    stub: pb_grpc.RecommenderServiceStub,
    gen: HostileRequests,
    rpc: str,
    request: pb.RecommendRequest | pb.FeedbackRequest,
    timeout: float,
) -> Outcome:
    """One call; the status it got (and the request, when that status is not acceptable)."""
    try:
        if rpc == "Recommend":
            assert isinstance(request, pb.RecommendRequest)
            resp = stub.Recommend(request, timeout=timeout)
            gen.remember(resp.session_id, request.user_id)
        elif rpc == "RecommendStream":
            assert isinstance(request, pb.RecommendRequest)
            chunks = list(stub.RecommendStream(request, timeout=timeout))
            if chunks:
                gen.remember(chunks[-1].session_id, request.user_id)
        else:
            assert isinstance(request, pb.FeedbackRequest)
            stub.Feedback(request, timeout=timeout)
        return Outcome(rpc, grpc.StatusCode.OK)
    except grpc.RpcError as e:
        code = e.code()  # type: ignore[attr-defined]
        details = e.details() or ""  # type: ignore[attr-defined]
        kept = "" if code in ACCEPTABLE else repr(request)[:2000]
        return Outcome(rpc, code, details[:300], kept)


def generate(
    gen: HostileRequests, n: int
) -> Iterator[tuple[str, pb.RecommendRequest | pb.FeedbackRequest]]:
    """``n`` (rpc, request) pairs: 45% Recommend, 15% RecommendStream, 40% Feedback."""
    for _ in range(n):
        roll = gen.rng.random()
        if roll < 0.45:
            yield "Recommend", gen.recommend()
        elif roll < 0.60:
            yield "RecommendStream", gen.recommend()
        else:
            yield "Feedback", gen.feedback()


# -- the command ----------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (Linux ``/proc``); NaN when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _read_fingerprint(socket_uri: str, graph: str) -> dict[str, object]:
    from kg import open_store

    store = open_store(socket_uri, graph=graph)
    try:
        return catalog_fingerprint(store)
    finally:
        store.close()


def run(
    target: str,
    n: int,
    concurrency: int,
    seed: int,
    timeout: float,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[Outcome], float]:
    """Send ``n`` hostile calls to ``target``; the outcomes and the seconds it took."""
    gen = HostileRequests.seeded(seed)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    with grpc.insecure_channel(
        target, options=[("grpc.max_send_message_length", 16 * 1024 * 1024)]
    ) as channel:
        stub = pb_grpc.RecommenderServiceStub(channel)
        started = time.perf_counter()
        requests = generate(gen, n)

        def worker() -> None:
            while True:
                with lock:  # one generator, one seeded order of requests
                    item = next(requests, None)
                if item is None:
                    return
                outcome = call_one(stub, gen, item[0], item[1], timeout)
                with lock:
                    outcomes.append(outcome)
                    if progress is not None:
                        progress(len(outcomes))

        with ThreadPoolExecutor(concurrency) as pool:
            for future in [pool.submit(worker) for _ in range(concurrency)]:
                future.result()
        return outcomes, time.perf_counter() - started


def summarize(
    outcomes: Sequence[Outcome],
    seconds: float,
    alive: bool,
    rss: tuple[float, float],
    fingerprints: tuple[Mapping[str, object], Mapping[str, object]],
) -> tuple[str, bool]:
    """The printed summary and whether the run passed."""
    by_code = Counter(o.code.name for o in outcomes)
    by_rpc = Counter(f"{o.rpc} {o.code.name}" for o in outcomes)
    bad = [o for o in outcomes if o.code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)]
    unacceptable = [o for o in outcomes if o.code not in ACCEPTABLE]
    same = fingerprints[0] == fingerprints[1]
    lines = [
        f"requests:            {len(outcomes)} in {seconds:.1f} s "
        f"({len(outcomes) / seconds:.1f}/s)",
        "by status:           " + ", ".join(f"{code} {n}" for code, n in by_code.most_common()),
        "by rpc and status:   " + ", ".join(f"{key} {n}" for key, n in sorted(by_rpc.items())),
        f"INTERNAL or UNKNOWN: {len(bad)}",
        f"other unacceptable:  {len(unacceptable) - len(bad)}",
        f"server alive:        {'yes' if alive else 'NO (crashed)'}",
        f"server RSS MiB:      {rss[0]:.0f} before, {rss[1]:.0f} after",
        f"catalog before:      {json.dumps(fingerprints[0], sort_keys=True)}",
        f"catalog after:       {json.dumps(fingerprints[1], sort_keys=True)}",
        f"catalog unchanged:   {'yes' if same else 'NO'}",
    ]
    for o in unacceptable[:10]:
        lines.append(f"  {o.rpc} {o.code.name}: {o.details} <- {o.request[:400]}")
    return "\n".join(lines), alive and same and not unacceptable


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000, help="hostile calls to send")
    ap.add_argument("--concurrency", type=int, default=8, help="client threads")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated requests")
    ap.add_argument("--timeout", type=float, default=60.0, help="client deadline per call (s)")
    ap.add_argument("--demo-products", type=int, default=800)
    ap.add_argument("--demo-users", type=int, default=200)
    ap.add_argument("--train-model", action="store_true", help="train and serve the demo model")
    ap.add_argument("--data-dir", type=Path, help="reuse a data dir (default: a fresh temp dir)")
    args = ap.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        ap.error("--requests and --concurrency must be >= 1")
    from server.serve_process import ServeProcess

    serve_args = ["--demo-products", str(args.demo_products)]
    serve_args += ["--demo-users", str(args.demo_users), "--log-level", "WARNING"]
    if not args.train_model:
        serve_args.append("--no-train-model")
    with tempfile.TemporaryDirectory(prefix="kgrec-fuzz-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        with ServeProcess(data_dir, *serve_args) as srv:
            proc = srv._proc
            assert proc is not None
            uri = f"falkordb+unix://{srv.socket_path}"
            # one plain turn first: the server's lazy parts load before RSS is measured
            with grpc.insecure_channel(srv.target) as channel:
                pb_grpc.RecommenderServiceStub(channel).Recommend(
                    pb.RecommendRequest(message="red running shoes"), timeout=120
                )
            before = _read_fingerprint(uri, "kgrec")
            rss_before = rss_mib(proc.pid)
            step = max(1, args.requests // 20)

            def progress(done: int) -> None:
                if done % step == 0:
                    print(f"  {done}/{args.requests}", file=sys.stderr, flush=True)

            outcomes, seconds = run(
                srv.target, args.requests, args.concurrency, args.seed, args.timeout, progress
            )
            alive = proc.poll() is None
            rss_after = rss_mib(proc.pid)
            after = _read_fingerprint(uri, "kgrec") if alive else {}
            text, passed = summarize(
                outcomes, seconds, alive, (rss_before, rss_after), (before, after)
            )
        print(text)
        code = srv.exit_code
        print(f"server exit code:    {code}")
        if "Traceback" in srv.tail(400):
            print("server log has a traceback:\n" + srv.tail(60))
            passed = False
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
