"""Load benchmark of the real service: ``kgrec serve`` driven by concurrent gRPC clients.

    python -m bench.load [--products 6000] [--users 2500] [--concurrency 1,8,32] [--seconds 20]
                         [--workers N] [--connections K] [--no-train-model] [--data-dir DIR]
                         [--device auto|cpu|cuda] [--score-batching auto|on|off]
                         [-- extra `kgrec serve` flags]

For each catalog size it starts ``python -m kgrec.cli serve --port 0`` (the embedded graph DB,
a generated demo store of ``--products`` products, Prometheus metrics on a free port), waits
for ``grpc.health.v1`` SERVING, warms it up, then for each concurrency:

1. the floor: ``grpc.health.v1`` Check from the same number of clients on the same channel
   type (an empty RPC through the same server, interceptors and event loop);
2. the load: that many seeded shoppers (``bench.load_workload``: first turns, follow-ups in
   the same session and Feedback calls, a fixed mix) for ``--seconds``.

It prints per RPC the calls, calls/s, p50/p95/p99 and each percentile as a multiple of the
floor's p50, errors by status code; the server's time per pipeline step over the phase
(``kgrec_step_seconds`` scraped before and after); the server's and the graph DB's CPU
seconds per wall second and memory; ``os.cpu_count()`` and the load average before and after,
so a run on a busy machine shows as one. With ``--workers N`` the server runs N processes
(``kgrec serve --workers N``): step times are summed over the workers' metrics endpoints,
and CPU and memory are summed over the parent and its workers and printed per process. The
clients of a phase share one connection unless ``--connections K`` (``0``: one per client):
the kernel hands each connection to one worker, so one connection loads one worker. With
several ``--products`` sizes it ends with one summary line per size (the scale curve). A
concurrency given more than once (``--concurrency 32,32,32``) runs that many phases on the
same server, and a line per such concurrency gives the median and range of its phases'
Recommend p50, p99 and calls/s: on a shared 2-core VM one 15 s phase moves by a quarter.

``--device cuda`` serves the scorer on the GPU (``kgrec serve --device``; the server refuses
to start where torch sees none), where concurrent turns' scoring is batched unless
``--score-batching off``: the start-up prints the scorer the server loaded (its device and
whether it batches) and each phase the batches and their mean size (the scorer's, and the
intent encoder's with ``-- --encoder-batching on``: :data:`BATCH_METRICS`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import grpc

from bench.load_report import (
    REQUEST_METRIC,
    STEP_METRIC,
    Histogram,
    cpu_probe_ms,
    cpu_ticks,
    parse_histograms,
    percentile,
    proc_usage,
    rpc_table,
    samples_by_rpc,
    scrape,
    steal_share,
    step_table,
)
from bench.load_workload import MIX, HealthProbe, PhaseResult, Shopper, run_phase, wait_serving
from models.training.device import SCORE_BATCHING
from server.serve_process import ServeProcess

#: The gauge of the products in a server's in-process candidate snapshot (server/metrics.py).
SNAPSHOT_METRIC = "kgrec_candidate_snapshot_products"
#: The counters of batched forwards (server/metrics.py): the scorer's batches and the turns
#: in them, the intent encoder's batches and the messages in them.
BATCH_METRICS = (
    "kgrec_score_batches_total", "kgrec_score_batched_turns_total",
    "kgrec_intent_batches_total", "kgrec_intent_batch_messages_total",
)  # fmt: skip
#: The start of a line the server logged (its timestamp); traceback lines have none.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
#: A traceback's exception line: ``module.Name: message``.
EXCEPTION_LINE = re.compile(r"[A-Za-z_][\w.]*(: |$)")
#: Seconds between the turns :meth:`SizeRun.wait_snapshot` sends while a worker has none.
NUDGE_S = 30.0


def _gauge(text: str, name: str) -> float:
    """The value of an unlabelled sample (a gauge, a counter's ``_total``) in a Prometheus
    text scrape (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from e
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got {text!r}")
    return values


def _free_ports(n: int) -> int:
    """A port ``p`` with ``p .. p + n - 1`` free (one metrics endpoint per server worker)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            first = int(s.getsockname()[1])
        if first + n - 1 > 65535:
            continue
        try:
            for port in range(first + 1, first + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise OSError(f"no {n} consecutive free ports")


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
        return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class SizeRun:
    """One served catalog size: start-up, then a floor and a load phase per concurrency."""

    def __init__(
        self, args: argparse.Namespace, products: int, srv: ServeProcess, metrics: Sequence[str]
    ):
        self.args, self.products, self.srv, self.metrics_urls = args, products, srv, metrics
        self.pid = srv.pid
        #: each phase's Recommend (p50 ms, p99 ms, calls/s), by concurrency, in order
        self.summary: dict[int, list[tuple[float, float, float]]] = {}

    def _histograms(self) -> tuple[dict[str, Histogram], Histogram | None]:
        """Step and Recommend histograms, summed over the server's workers."""
        steps: dict[str, Histogram] = {}
        request: Histogram | None = None
        for url in self.metrics_urls:
            text = scrape(url)
            for key, h in parse_histograms(text, STEP_METRIC, "step").items():
                steps[key] = h.plus(steps.get(key))
            rec = parse_histograms(text, REQUEST_METRIC, "method").get("Recommend")
            request = rec.plus(request) if rec is not None else request
        return steps, request

    def batches(self) -> tuple[float, ...]:
        """:data:`BATCH_METRICS` so far, summed over the workers."""
        texts = [scrape(url) for url in self.metrics_urls]
        return tuple(sum(_gauge(t, m) for t in texts) for m in BATCH_METRICS)

    def wait_snapshot(self, timeout: float) -> int:
        """Wait until every worker answers candidates from its in-process snapshot (built in
        the background after SERVING; turns before it read the graph, slower on a big
        catalog), so the phases measure the steady state. Returns its size (0: none came).

        A worker whose start-up build failed (the graph DB busy, a timeout: logged) builds
        again at its next turn, as a served one would; so while one has none, a first turn
        goes to the server every :data:`NUDGE_S` seconds on a new connection (a worker is
        chosen per connection), and the wait says so."""
        deadline = time.monotonic() + timeout
        nudge_at = time.monotonic() + NUDGE_S
        while True:
            sizes = [_gauge(scrape(url), SNAPSHOT_METRIC) for url in self.metrics_urls]
            if min(sizes) > 0 or time.monotonic() > deadline:
                return int(min(sizes))
            if time.monotonic() > nudge_at:
                lacking = sum(1 for s in sizes if not s)
                print(f"  {lacking} worker(s) without a snapshot yet: sending a turn")
                asyncio.run(self.warm_up(turns=1))  # a new shopper's first step: a first turn
                nudge_at = time.monotonic() + NUDGE_S
            time.sleep(0.5)

    async def warm_up(self, turns: int | None = None) -> None:
        """``turns`` (default ``--warmup``) turns by a new shopper that is not one of the
        measured ones, on a new connection."""
        async with grpc.aio.insecure_channel(self.srv.target) as channel:
            shopper = Shopper.seeded(channel, self.args.seed + 1_000_003, 0, self.args.users)
            for _ in range(self.args.warmup if turns is None else turns):
                await shopper.step()

    async def phase(self, concurrency: int) -> None:
        a = self.args
        probe_ms = cpu_probe_ms()  # the server idle: the machine's speed, not the load's
        ticks0 = cpu_ticks()
        floor_s = min(a.floor_seconds, a.seconds)
        floor = await run_phase(
            self.srv.target, concurrency, floor_s, lambda ch, i: HealthProbe.on(ch)
        )
        floor_ok = [s.ms for s in floor.samples if s.code == "OK"]
        floor_p50 = percentile(floor_ok, 0.5) if floor_ok else float("nan")
        steps0, req0 = self._histograms()
        batches0 = self.batches()
        use0 = proc_usage(self.pid)
        load: PhaseResult = await run_phase(
            self.srv.target, concurrency, a.seconds,
            lambda ch, i: Shopper.seeded(ch, a.seed, i, a.users, a.fresh_messages), a.connections,
        )  # fmt: skip
        use1 = proc_usage(self.pid)
        steps1, req1 = self._histograms()
        counts = [b - a for a, b in zip(batches0, self.batches(), strict=True)]
        rows = samples_by_rpc(load.samples)
        rows["Health"] = floor.samples
        steal = steal_share(ticks0, cpu_ticks())
        print(
            f"-- concurrency {concurrency}: {a.seconds:g} s of mixed load "
            f"({load.wall_s:.1f} s to the last call), floor {floor_s:g} s; "
            f"load average {_loadavg()}"
        )
        print(
            f"  machine: CPU probe {probe_ms:.1f} ms before the phase (a fixed Python loop; "
            "higher is slower)"
            + (f", {steal:.1%} of CPU time stolen by the hypervisor" if steal is not None else "")
        )
        for line in rpc_table(rows, load.wall_s, floor.wall_s, floor_p50):
            print(line)
        print("    (Health: the floor, calls/s over its own phase; 'x': a multiple of its p50)")
        steps = {k: h.minus(steps0.get(k)) for k, h in steps1.items()}
        request = req1.minus(req0) if req1 is not None else None
        for line in step_table(steps, request):
            print(line)
        wall = load.wall_s
        n_turns = sum(1 for s in rows.get("Recommend", []) if s.code == "OK")
        server_cpu = use1.cpu_s - use0.cpu_s
        graph_cpu = use1.children_cpu_s - use0.children_cpu_s
        per_turn = 1000 / max(n_turns, 1)
        print(
            f"  CPU per wall second: server {server_cpu / wall:.2f}, graph DB "
            f"{graph_cpu / wall:.2f}, this client {load.client_cpu_s / wall:.2f}; "
            f"CPU per OK Recommend (Feedback included): server {server_cpu * per_turn:.0f} ms, "
            f"graph DB {graph_cpu * per_turn:.0f} ms; "
            f"RSS server {use1.rss_mb:.0f} MB, graph DB {use1.children_rss_mb:.0f} MB"
        )
        if len(use1.processes) > 1:
            before = {name: cpu for name, _, cpu in use0.processes}
            print(
                "  server processes (CPU per wall second, RSS): "
                + ", ".join(
                    f"{name} {(cpu - before.get(name, 0.0)) / wall:.2f} {rss:.0f} MB"
                    for name, rss, cpu in use1.processes
                )
            )
        for what, n, k in (("score", *counts[:2]), ("intent encoder", *counts[2:])):
            if n:
                print(f"  {what} batches: {n:.0f}, {k / n:.2f} each on average ({k:.0f})")
        rec_ok = [s.ms for s in rows.get("Recommend", []) if s.code == "OK"]
        if rec_ok:
            self.summary.setdefault(concurrency, []).append((
                percentile(rec_ok, 0.5), percentile(rec_ok, 0.99), len(rows["Recommend"]) / wall
            ))  # fmt: skip

    def repeated(self) -> list[str]:
        """A line per concurrency run in several phases: each figure's median and range."""
        out = []
        for c, phases in self.summary.items():
            if len(phases) < 2:
                continue
            cells = [
                f"{name} {statistics.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"
                for name, v in zip(
                    ("p50 ms", "p99 ms", "calls/s"), zip(*phases, strict=True), strict=True
                )
            ]
            out.append(
                f"  c={c}, {len(phases)} phases, Recommend median (range): {', '.join(cells)}"
            )
        return out


STAGE_DONE = re.compile(r"INFO \S+ \[[^\]]*\] (.+): done in ([\d.]+) s")


def startup_stages(lines: Sequence[str]) -> list[tuple[str, str]]:
    """``(stage, seconds)`` of each start-up stage ``kgrec serve`` logged (at INFO)."""
    return [(m.group(1), m.group(2)) for line in lines if (m := STAGE_DONE.search(line))]


def server_warnings(lines: Sequence[str]) -> list[str]:
    """The server's WARNING and ERROR lines, each with the exception lines of the traceback
    logged under it (what failed, not only that something did)."""
    out: list[str] = []
    under = False  # the lines since the last logged line belong to a warning
    for line in lines:
        line = line.rstrip()
        if LOG_LINE.match(line):
            under = " WARNING " in line or " ERROR " in line
            if under:
                out.append(line)
        elif under and EXCEPTION_LINE.match(line):
            out.append(f"  {line}")  # an exception of the traceback (its cause first)
    return out


def run_size(
    args: argparse.Namespace, products: int, data_dir: Path
) -> tuple[SizeRun, float, float]:
    metrics_port = _free_ports(args.workers)
    serve_args = [
        "--demo-products", str(products), "--demo-users", str(args.users), "--seed", str(args.seed),
        "--metrics-port", str(metrics_port), "--log-level", args.log_level,
        "--workers", str(args.workers),
    ]  # fmt: skip
    if not args.train_model:
        serve_args.append("--no-train-model")
    for flag, value in (("--device", args.device), ("--score-batching", args.score_batching)):
        serve_args += [flag, value] if value else []
    serve_args += args.serve_args
    started = time.perf_counter()
    srv = ServeProcess(data_dir, *serve_args, start_timeout=args.start_timeout)
    srv.start()
    try:
        asyncio.run(wait_serving(srv.target, args.start_timeout))
        ready_s = time.perf_counter() - started
        urls = [f"http://127.0.0.1:{metrics_port + i}/metrics" for i in range(args.workers)]
        run = SizeRun(args, products, srv, urls)
        use = proc_usage(run.pid)
        model = (
            "trained at start-up (or loaded from the data dir)"
            if args.train_model
            else "untrained (--no-train-model)"
        )
        workers = f", {args.workers} server processes" if args.workers > 1 else ""
        print(f"\n== {products} products, {args.users} users, model {model}{workers}")
        print(
            f"start-up to SERVING {ready_s:.1f} s; RSS server {use.rss_mb:.0f} MB, "
            f"graph DB {use.children_rss_mb:.0f} MB"
        )
        for what, took in startup_stages(srv.output):
            print(f"  start-up stage {took:>6} s  {what}")
        for line in srv.output:
            if (at := line.find("GnnScorer(")) >= 0:  # its device and score batching
                print(f"  scorer: {line[at:].rstrip()}")
                break
        snapshot = run.wait_snapshot(args.start_timeout)
        print(
            f"candidate snapshot of {snapshot:,} products ready "
            f"{time.perf_counter() - started - ready_s:.1f} s after SERVING (measured from then on)"
            if snapshot
            else "no candidate snapshot: the graph's queries answer"
        )
        for line in server_warnings(srv.output):  # a snapshot that never came, ...
            print(f"  server: {line}")
        asyncio.run(run.warm_up())
        for c in args.concurrency:
            asyncio.run(run.phase(c))
        for line in run.repeated():
            print(line)
        use = proc_usage(run.pid)
        return run, ready_s, use.rss_mb + use.children_rss_mb
    finally:
        code = srv.stop()
        if code:
            print(f"kgrec serve exited {code}:\n{srv.tail()}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--products", type=_int_list, default=[6000], help="catalog size(s), e.g. 10000,100000"
    )
    ap.add_argument("--users", type=int, default=2500, help="demo users (default 2500)")
    ap.add_argument("--concurrency", type=_int_list, default=[1, 8, 32], help="clients per phase")
    ap.add_argument("--seconds", type=float, default=20.0, help="mixed load per concurrency")
    ap.add_argument("--floor-seconds", type=float, default=5.0, help="Health floor per concurrency")
    ap.add_argument("--warmup", type=int, default=16, help="turns before measuring (per size)")
    ap.add_argument("--seed", type=int, default=7, help="demo store and shopper seed")
    ap.add_argument(
        "--workers", type=int, default=1, help="server processes (`kgrec serve --workers`)"
    )
    ap.add_argument(
        "--connections",
        type=int,
        default=1,
        help="TCP connections the clients of a phase share (default 1; 0: one per client); "
        "with --workers each connection is served by one worker",
    )
    ap.add_argument("--train-model", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument(
        "--data-dir", type=Path, help="reuse a data dir (one size only); default: fresh"
    )
    ap.add_argument(
        "--log-level", default="INFO", help="the server's (default INFO, as `kgrec serve`)"
    )
    ap.add_argument("--start-timeout", type=float, default=1800.0, help="seconds to SERVING")
    ap.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), help="the scorer's (`kgrec serve --device`)"
    )
    ap.add_argument(
        "--score-batching", choices=SCORE_BATCHING, help="`kgrec serve --score-batching`"
    )
    ap.add_argument("--fresh-messages", action="store_true", help="frame each message anew")
    ap.add_argument("serve_args", nargs="*", help="extra `kgrec serve` flags, after --")
    args = ap.parse_args(argv)
    if args.data_dir and len(args.products) > 1:
        ap.error("--data-dir holds one catalog: give one --products size with it")
    if args.users < 0 or args.seconds <= 0 or args.warmup < 0:
        ap.error("--users and --warmup must be >= 0 and --seconds > 0")
    if args.workers < 1 or args.connections < 0:
        ap.error("--workers must be >= 1 and --connections >= 0")

    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"kgrec load benchmark, {now}, commit {_commit()}")
    print(f"os.cpu_count() {os.cpu_count()}; load average before {_loadavg()}")
    print(
        f"mix (seed {args.seed}): first turn {MIX[0]:.0%}, follow-up {MIX[1]:.0%}, feedback "
        f"{MIX[2]:.0%} of draws; Recommend limit 10, explain on; concurrency "
        f"{','.join(map(str, args.concurrency))}, {args.seconds:g} s each; "
        + ("fresh messages; " if args.fresh_messages else "")
        + (f"{args.connections} connection(s)" if args.connections else "a connection per client")
    )
    results: list[tuple[int, SizeRun, float, float]] = []
    for products in args.products:
        with tempfile.TemporaryDirectory(prefix="kgrec-load-") as tmp:
            run, ready_s, rss = run_size(args, products, args.data_dir or Path(tmp))
            results.append((products, run, ready_s, rss))
    print(f"\nload average after {_loadavg()}")
    if len(results) > 1:
        print("\nscale (Recommend, all turns; p50/p99 ms and calls/s per concurrency):")
        for products, run, ready_s, rss in results:
            cells = "  ".join(
                f"c={c}: {p50:.0f}/{p99:.0f} ms {rate:.1f}/s"
                for c, phases in run.summary.items()
                for p50, p99, rate in phases[-1:]
            )
            print(f"  {products:>8} products  start {ready_s:6.1f} s  RSS {rss:6.0f} MB  {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
