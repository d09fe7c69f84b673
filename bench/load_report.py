"""Figures of the load benchmark: latency percentiles, per-step histograms scraped from the
server's Prometheus endpoint, the server's memory and CPU, and the printed tables."""

from __future__ import annotations

import math
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bench.load_workload import Sample

#: Row order of the RPC table; ``Recommend`` is first turns and follow-ups together.
RPC_ROWS = ("Health", "Recommend", "Recommend:first", "Recommend:follow-up", "Feedback")
STEP_METRIC = "kgrec_step_seconds"
REQUEST_METRIC = "kgrec_request_seconds"


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in [0, 1]) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q * len(ordered))))
    return ordered[rank - 1]


# --- the machine's speed ---------------------------------------------------------------------


def cpu_probe_ms(repeat: int = 5) -> float:
    """The best of ``repeat`` timings of a fixed pure-Python loop, in ms: the machine's speed
    for the interpreter's kind of work at this moment. On a shared VM it moves by ~2x from
    hour to hour, and every server step moves with it (the intent parser's, with no I/O,
    too), so two runs' latencies compare only as their probes do."""
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000


def cpu_ticks(stat: str | None = None) -> tuple[int, int] | None:
    """``(all, steal)`` CPU ticks since boot from ``/proc/stat``'s ``cpu`` line (``stat``:
    its text, for tests); ``None`` where there is none. Steal is time the hypervisor gave this
    machine's CPUs to other guests."""
    if stat is None:
        try:
            stat = Path("/proc/stat").read_text()
        except OSError:
            return None
    fields = next((ln.split() for ln in stat.splitlines() if ln.startswith("cpu ")), None)
    if fields is None or len(fields) < 9:
        return None
    ticks = [int(v) for v in fields[1:]]
    return sum(ticks[:8]), ticks[7]  # user..steal (guest time is inside user)


def steal_share(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """The share of CPU time stolen between two :func:`cpu_ticks` readings."""
    if before is None or after is None or after[0] <= before[0]:
        return None
    return (after[1] - before[1]) / (after[0] - before[0])


# --- Prometheus histograms -------------------------------------------------------------------


@dataclass(frozen=True)
class Histogram:
    """One label's cumulative buckets (upper bound in seconds -> count), sum and count."""

    buckets: tuple[tuple[float, float], ...]
    total: float
    count: float

    def minus(self, before: Histogram | None) -> Histogram:
        if before is None:
            return self
        old = dict(before.buckets)
        buckets = tuple((le, n - old.get(le, 0.0)) for le, n in self.buckets)
        return Histogram(buckets, self.total - before.total, self.count - before.count)

    def plus(self, other: Histogram | None) -> Histogram:
        """The two histograms' counts added (the same metric from several server workers)."""
        if other is None:
            return self
        theirs = dict(other.buckets)
        buckets = tuple((le, n + theirs.get(le, 0.0)) for le, n in self.buckets)
        return Histogram(buckets, self.total + other.total, self.count + other.count)

    def mean_ms(self) -> float:
        return 1000 * self.total / self.count if self.count else float("nan")

    def quantile_ms(self, q: float) -> float:
        """Linear interpolation within the bucket holding rank ``q * count`` (as Prometheus'
        ``histogram_quantile``); ``inf`` when it falls past the last finite bound."""
        if not self.count:
            return float("nan")
        rank, lower, below = q * self.count, 0.0, 0.0
        finite = [b for b in self.buckets if b[0] != float("inf")]
        for le, n in finite:
            if n >= rank:
                share = (rank - below) / (n - below) if n > below else 1.0
                return 1000 * (lower + (le - lower) * share)
            lower, below = le, n
        return math.inf if finite else float("nan")

    def last_bound_ms(self) -> float:
        finite = [le for le, _ in self.buckets if le != math.inf]
        return 1000 * finite[-1] if finite else math.nan


def parse_histograms(text: str, metric: str, label: str) -> dict[str, Histogram]:
    """``{label value: Histogram}`` of one histogram metric in the text exposition format."""
    buckets: dict[str, list[tuple[float, float]]] = {}
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != metric:
            continue
        for s in family.samples:
            key = s.labels.get(label, "")
            buckets.setdefault(key, [])
            if s.name.endswith("_bucket"):
                buckets[key].append((float(s.labels["le"]), float(s.value)))
            elif s.name.endswith("_sum"):
                sums[key] = float(s.value)
            elif s.name.endswith("_count"):
                counts[key] = float(s.value)
    return {
        k: Histogram(tuple(sorted(b)), sums.get(k, 0.0), counts.get(k, 0.0))
        for k, b in buckets.items()
    }


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 (loopback, our server)
        return str(resp.read().decode())


# --- the server process ----------------------------------------------------------------------


@dataclass(frozen=True)
class ProcUsage:
    """The server's memory and CPU seconds (the process and, with ``--workers``, its worker
    processes, summed), the same of its other children (the embedded graph DB), and each
    server process's own ``(name, rss MB, CPU s)``."""

    rss_mb: float
    children_rss_mb: float
    cpu_s: float
    children_cpu_s: float
    processes: tuple[tuple[str, float, float], ...] = ()


def _is_worker(cmdline: str) -> bool:
    return "server.worker" in cmdline


def proc_usage(pid: int) -> ProcUsage:
    """:class:`ProcUsage` of ``pid`` and its children, from psutil when installed, else from
    ``/proc``."""
    rows = _processes(pid)
    server = [(f"worker {p}" if _is_worker(c) else "parent" if p == pid else f"pid {p}", r, t)
              for p, c, r, t in rows if p == pid or _is_worker(c)]  # fmt: skip
    others = [(r, t) for p, c, r, t in rows if p != pid and not _is_worker(c)]
    return ProcUsage(
        sum(r for _, r, _ in server),
        sum(r for r, _ in others),
        sum(t for _, _, t in server),
        sum(t for _, t in others),
        tuple(server),
    )


def _processes(pid: int) -> list[tuple[int, str, float, float]]:
    """``(pid, command line, rss MB, CPU s)`` of ``pid`` and of its children, recursively."""
    try:
        import psutil
    except ImportError:
        return _processes_procfs(pid)
    proc = psutil.Process(pid)
    out = []
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            out.append(
                (p.pid, " ".join(p.cmdline()), p.memory_info().rss / 2**20, t.user + t.system)
            )
        except psutil.Error:
            continue
    return out


def _processes_procfs(pid: int) -> list[tuple[int, str, float, float]]:
    tick = os.sysconf("SC_CLK_TCK")

    def one(p: int) -> tuple[int, str, float, float]:
        status = Path(f"/proc/{p}/status").read_text()
        rss = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS:")), 0)
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        cmdline = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        return p, cmdline, rss / 1024, (int(fields[11]) + int(fields[12])) / tick

    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            out.append(one(p))
            todo += [int(k) for k in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:  # gone meanwhile
            continue
    return out


# --- tables ----------------------------------------------------------------------------------


def samples_by_rpc(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    rows: dict[str, list[Sample]] = {}
    for s in samples:
        rows.setdefault(s.rpc, []).append(s)
        if s.rpc.startswith("Recommend:"):
            rows.setdefault("Recommend", []).append(s)
    return rows


def rpc_table(
    rows: dict[str, list[Sample]], wall_s: float, floor_wall_s: float, floor_p50_ms: float
) -> list[str]:
    """One line per RPC: calls, calls/s (over ``wall_s``; ``floor_wall_s`` for Health, which
    runs in its own phase), p50/p95/p99 (ms, over successful calls) and each as a multiple of
    the floor (the Health p50 at the same concurrency), errors by status code."""
    head = (
        f"  {'rpc':<20}{'calls':>7}{'calls/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'p50 x':>8}{'p95 x':>8}{'p99 x':>8}  errors"
    )
    lines = [head]
    for name in RPC_ROWS:
        calls = rows.get(name, [])
        if not calls:
            continue
        ok = [s.ms for s in calls if s.code == "OK"]
        errors = Counter(s.code for s in calls if s.code != "OK")
        err = ",".join(f"{code}:{n}" for code, n in sorted(errors.items())) or "0"
        wall = floor_wall_s if name == "Health" else wall_s
        line = f"  {name:<20}{len(calls):>7}{len(calls) / wall:>9.1f}"
        if ok:
            pcts = [percentile(ok, q) for q in (0.5, 0.95, 0.99)]
            line += "".join(f"{p:>9.1f}" for p in pcts)
            line += "".join(f"{p / floor_p50_ms:>8.1f}" for p in pcts)
        else:
            line += f"{'-':>9}" * 3 + f"{'-':>8}" * 3
        lines.append(f"{line}  {err}")
    return lines


def _past_bound(ms: float, bound_ms: float) -> str:
    """``ms`` to one decimal, or ``>BOUND`` past the histogram's last finite bucket."""
    return f">{bound_ms:.0f}" if ms == math.inf else f"{ms:.1f}"


def step_table(steps: dict[str, Histogram], request: Histogram | None) -> list[str]:
    """Server-side time per step of a turn over one phase (histogram deltas: mean exact,
    p50/p95 interpolated within Prometheus buckets)."""
    lines = [f"  {'server step':<20}{'turns':>7}{'mean ms':>9}{'~p50 ms':>9}{'~p95 ms':>9}"]
    named = list(steps.items())
    if request is not None:
        named.append(("whole turn (RPC)", request))
    for name, h in named:
        cells = [_past_bound(h.quantile_ms(q), h.last_bound_ms()) for q in (0.5, 0.95)]
        lines.append(f"  {name:<20}{int(h.count):>7}{h.mean_ms():>9.1f}{cells[0]:>9}{cells[1]:>9}")
    return lines


__all__ = [
    "RPC_ROWS",
    "Histogram",
    "ProcUsage",
    "parse_histograms",
    "percentile",
    "proc_usage",
    "rpc_table",
    "samples_by_rpc",
    "scrape",
    "step_table",
]
