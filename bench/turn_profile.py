"""Profile and pin down a served turn: the graph queries of each turn, timed, and its answers.

    python -m bench.turn_profile --data-dir DIR [--turns 60] [--seed 7] [--answers OUT.json]
                                 [--compare BEFORE.json] [--fresh-messages]

``DIR`` is a data dir a ``kgrec serve`` (or ``bench.load --data-dir``) left behind, graph and
model included. It is copied to a scratch dir, so every run starts from the same graph; the
served pipeline is built there by :func:`server.serve.build_runtime` (what ``kgrec serve``
runs), and a seeded sequence of first turns, follow-ups and feedback (the load benchmark's
messages, :mod:`bench.load_workload`) goes through it in-process, one call at a time,
with a fixed ranking (``explore=False``). ``--fresh-messages`` frames each message as
``bench.load --fresh-messages`` does, from a seeded generator of its own (the mix's draws
stay the plain run's), so the per-text caches rarely hold the one a turn sends.

It prints, per query shape (the query's text with its parameters), how often it ran per
turn and its total and mean milliseconds, and each step's mean, so the step that dominates
and the query inside it show. It also prints the process's CPU per call and the cyclic GC's
collections and their time: the pipeline runs after :func:`server.serve.settle_heap`, as
``kgrec serve`` runs it; ``--gc-young N`` sets the youngest generation's threshold instead
(700: CPython's default).
``--answers`` writes every turn's items, scores, reasons and
reply; ``--compare`` checks them against an earlier run's (same ``DIR``, ``--turns`` and
``--seed``): how many answers rank differently, how many differ at all (reasons, reply), the
first difference; it exits 1 on any.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.load_workload import FIRST_TURNS, FOLLOW_UPS, MIX, framed
from kgrec.domain import EventType, FeedbackEvent, RecommendQuery
from server.serve import GC_YOUNG_THRESHOLD, build_runtime, settle_heap
from server.settings import Settings

_EVENTS = (EventType.CLICK, EventType.LIKE, EventType.ADD_TO_CART, EventType.DISLIKE)


class QueryTimer:
    """Wraps a store's ``_read`` / ``_write`` and adds up wall time per query text."""

    def __init__(self, store: Any) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)
        for name in ("_read", "_write"):
            setattr(store, name, self._timed(getattr(store, name)))

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(query: str, params: Any = None) -> Any:
            started = time.perf_counter()
            try:
                return fn(query, params)
            finally:
                self.ms[query].append((time.perf_counter() - started) * 1000)

        return run

    def report(self, turns: int) -> Iterator[str]:
        yield f"  {'per turn':>8} {'total ms':>9} {'mean ms':>8}  query (first lines)"
        rows = sorted(self.ms.items(), key=lambda kv: -sum(kv[1]))
        for query, times in rows:
            head = " | ".join(line.strip() for line in query.splitlines()[:3])[:110]
            total = sum(times)
            yield f"  {len(times) / turns:8.2f} {total:9.1f} {total / len(times):8.2f}  {head}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, str | int | bool | type(None)) else str(value)


def drive(
    runtime: Any, turns: int, seed: int, n_users: int, fresh: bool = False
) -> tuple[list[Any], dict[str, float]]:
    """``turns`` seeded calls (the load mix, each message framed when ``fresh``); returns
    each call's answer and step times."""
    pipeline = runtime.pipeline
    rng = random.Random(f"kgrec-turn-profile:{seed}")
    framing = random.Random(f"kgrec-turn-profile-framing:{seed}") if fresh else None
    answers: list[Any] = []
    steps: dict[str, float] = defaultdict(float)
    user, session, shown = "", "", []
    for _ in range(turns):
        draw = rng.random()
        if session and shown and draw >= MIX[0] + MIX[1]:
            event = FeedbackEvent(user, session, rng.choice(shown), rng.choice(_EVENTS))
            result = pipeline.feedback_sync(event)
            answers.append({"feedback": event.event_type.name, "duplicate": result.duplicate})
            continue
        if session and draw >= MIX[0]:
            message = rng.choice(FOLLOW_UPS)
        else:
            user = "" if rng.random() < 0.3 else f"user:{rng.randrange(n_users)}"
            session, message = "", rng.choice(FIRST_TURNS)
        if framing is not None:
            message = framed(framing, message)
        query = RecommendQuery(message, user_id=user, session_id=session, explore=False)
        timings: dict[str, float] = {}
        original = pipeline._timed

        def timed(turn: Any, name: str, _orig: Any = original, _t: Any = timings) -> Any:
            _t["turn"] = turn
            return _orig(turn, name)

        pipeline._timed = timed
        try:
            rec = pipeline.recommend_sync(query)
        finally:
            pipeline._timed = original
        for name, ms in timings["turn"].timings_ms.items():
            steps[name] += ms
        session, shown = rec.session_id, [it.item_id for it in rec.items]
        items = [asdict(it) for it in rec.items]
        answers.append({"message": message, "items": items, "reply": rec.reply})
    return _jsonable(answers), steps


#: Scores may move this much between runs: the profile's recency weights read the clock (two
#: runs of one commit differ by more than 1e-4 at 100k products; ``bench/RESULTS.md``).
SCORE_TOLERANCE = 1e-3


def _same(b: Any, a: Any) -> bool:
    if isinstance(b, float) and isinstance(a, float):
        return abs(b - a) <= SCORE_TOLERANCE
    if isinstance(b, dict) and isinstance(a, dict):
        return b.keys() == a.keys() and all(_same(b[k], a[k]) for k in b)
    if isinstance(b, list) and isinstance(a, list):
        return len(b) == len(a) and all(map(_same, b, a))
    return bool(b == a)


def _ranking(answer: Any) -> Any:
    """An answer without its reasons and reply: the items, their order, scores and records."""
    if "items" not in answer:
        return answer
    return [{k: v for k, v in it.items() if k != "reasons"} for it in answer["items"]]


def compare(before: list[Any], after: list[Any]) -> tuple[list[str], int, int]:
    """Lines that say how ``after`` differs from ``before``, and how many answers differ in
    their ranking and in anything at all (reasons and reply included)."""
    if len(before) != len(after):
        return [f"{len(before)} answers before, {len(after)} after"], 1, 1
    ranked = [i for i, (b, a) in enumerate(zip(before, after, strict=True))
              if not _same(_ranking(b), _ranking(a))]  # fmt: skip
    other = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if not _same(b, a)]
    lines = [
        f"rankings identical in {len(before) - len(ranked)} of {len(before)} answers; "
        f"everything (reasons and reply too) in {len(before) - len(other)}"
    ]
    for i in (ranked or other)[:1]:
        lines.append(f"first difference, answer {i}:")
        lines.append(f"  before {json.dumps(before[i])[:2000]}")
        lines.append(f"  after  {json.dumps(after[i])[:2000]}")
    return lines, len(ranked), len(other)


class GcTimer:
    """Counts the cyclic GC's collections by generation and their time, while entered."""

    def __init__(self) -> None:
        self.count = [0, 0, 0]
        self.seconds = 0.0
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.count[info["generation"]] += 1
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def report(self, recs: int, young: int) -> str:
        return (
            f"  cyclic GC    {1000 * self.seconds / recs:8.2f} ms per Recommend "
            f"(young threshold {young}; collections by generation {self.count})"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--turns", type=int, default=60)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--users", type=int, default=2500)
    ap.add_argument("--fresh-messages", action="store_true", help="frame each message anew")
    ap.add_argument("--answers", type=Path, help="write every answer here (JSON)")
    ap.add_argument("--compare", type=Path, help="an earlier --answers file to match")
    ap.add_argument(
        "--gc-young",
        type=int,
        default=GC_YOUNG_THRESHOLD,
        help="the GC's youngest-generation threshold while driving (700: CPython's default)",
    )
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kgrec-turn-profile-") as tmp:
        data = Path(tmp) / "data"
        shutil.copytree(args.data_dir, data, ignore=shutil.ignore_patterns("*.sock", "*.pid"))
        settings = Settings(data_dir=data, demo_users=args.users, log_message_text=False)
        runtime = build_runtime(settings)
        runtime.store.warm(wait=True)  # every turn from the filter snapshot, on any machine
        settle_heap(args.gc_young)
        collections = GcTimer()
        try:
            timer = QueryTimer(runtime.store)
            started, cpu = time.perf_counter(), time.process_time()
            with collections:
                answers, steps = drive(
                    runtime, args.turns, args.seed, args.users, args.fresh_messages
                )
            wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            runtime.close()
    recs = sum(1 for a in answers if "items" in a)
    print(f"{args.turns} calls ({recs} Recommend) in {wall:.2f} s; per Recommend:")
    for name, total in steps.items():
        print(f"  step {name:<11} {total / max(recs, 1):8.2f} ms")
    print(f"  process CPU  {1000 * cpu / max(args.turns, 1):8.2f} ms per call")
    print(collections.report(max(recs, 1), args.gc_young))
    for line in timer.report(max(recs, 1)):
        print(line)
    if args.answers:
        args.answers.write_text(json.dumps(answers, indent=1))
    if args.compare:
        lines, ranked, other = compare(json.loads(args.compare.read_text()), answers)
        print("\n".join(lines))
        return 1 if ranked or other else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
