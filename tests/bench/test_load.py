"""bench.load: its figures (percentiles, scraped histograms, the table) and, against a tiny
served demo, the printed report's shape."""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import load
from bench.load import main, startup_stages
from bench.load_report import (
    Histogram,
    cpu_probe_ms,
    cpu_ticks,
    parse_histograms,
    percentile,
    proc_usage,
    rpc_table,
    samples_by_rpc,
    steal_share,
    step_table,
)
from bench.load_workload import (
    CLOSINGS,
    FIRST_TURNS,
    FOLLOW_UPS,
    MIX,
    OPENINGS,
    SIGN_OFFS,
    Sample,
    Shopper,
)
from kgrec.v1 import recommender_pb2 as pb
from server.metrics import STEPS, Metrics

ROOT = Path(__file__).resolve().parents[2]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([3.0], 0.95) == 3.0
    with pytest.raises(ValueError):
        percentile([], 0.5)


def test_step_histograms_from_a_scrape_and_their_delta() -> None:
    metrics = Metrics()
    metrics.observe_steps({"retrieve": 3.0, "explain": 80.0})
    before = parse_histograms(metrics.render().decode(), "kgrec_step_seconds", "step")
    for ms in (4.0, 6.0, 7.0, 40.0):
        metrics.observe_steps({"retrieve": ms})
    after = parse_histograms(metrics.render().decode(), "kgrec_step_seconds", "step")
    assert set(after) == set(STEPS)
    delta = after["retrieve"].minus(before["retrieve"])
    assert delta.count == 4
    assert delta.mean_ms() == pytest.approx(57.0 / 4)
    # Rank 2 of 4 lies in the (5 ms, 10 ms] bucket, which holds 6 and 7 ms.
    assert 5.0 <= delta.quantile_ms(0.5) <= 10.0
    assert 25.0 < delta.quantile_ms(0.99) <= 50.0
    assert after["explain"].minus(before["explain"]).count == 0
    metrics.observe_steps({"explain": 9000.0})  # past the last bucket (2.5 s)
    slow = parse_histograms(metrics.render().decode(), "kgrec_step_seconds", "step")["explain"]
    assert slow.minus(after["explain"]).quantile_ms(0.5) == math.inf
    assert step_table({"explain": slow.minus(after["explain"])}, None)[1].split() == [
        "explain",
        "1",
        "9000.0",
        ">2500",
        ">2500",
    ]
    assert math.isnan(Histogram((), 0.0, 0.0).quantile_ms(0.5))  # no calls: no figure


def test_rpc_table_rows_multiples_of_the_floor_and_errors() -> None:
    samples = [Sample("Recommend:first", ms, "OK") for ms in (20.0, 40.0)]
    samples += [Sample("Recommend:follow-up", 10.0, "OK")]
    samples += [Sample("Recommend:first", 60000.0, "DEADLINE_EXCEEDED")]
    samples += [Sample("Feedback", 2.0, "OK")]
    rows = samples_by_rpc(samples)
    rows["Health"] = [Sample("Health", 1.0, "OK"), Sample("Health", 2.0, "OK")]
    lines = rpc_table(rows, wall_s=2.0, floor_wall_s=0.5, floor_p50_ms=1.0)
    assert " ".join(lines[0].split()) == (
        "rpc calls calls/s p50 ms p95 ms p99 ms p50 x p95 x p99 x errors"
    )
    by_name = {line.split()[0]: line.split() for line in lines[1:]}
    assert list(by_name) == ["Health", "Recommend", "Recommend:first", "Recommend:follow-up",
                             "Feedback"]  # fmt: skip
    assert by_name["Health"][1:3] == ["2", "4.0"]  # its own phase's wall time
    # Recommend: 4 calls over 2 s; percentiles over the 3 successful ones (10, 20, 40 ms).
    assert by_name["Recommend"][1:7] == ["4", "2.0", "20.0", "40.0", "40.0", "20.0"]
    assert by_name["Recommend"][-1] == "DEADLINE_EXCEEDED:1"
    assert by_name["Feedback"][-1] == "0"


class _FakeStub:
    """Answers every Recommend with three items of a fresh session; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    async def Recommend(self, request: pb.RecommendRequest, timeout: float) -> object:  # noqa: N802
        self.calls.append(("Recommend", request.user_id, request.session_id, request.message))
        session = request.session_id or f"s{len(self.calls)}"
        items = [pb.RankedItem(item_id=f"prod:{i}") for i in range(3)]
        return pb.RecommendResponse(session_id=session, items=items)

    async def Feedback(self, request: pb.FeedbackRequest, timeout: float) -> object:  # noqa: N802
        self.calls.append(("Feedback", request.user_id, request.session_id, request.item_id))
        return pb.FeedbackResponse(accepted=True)


def _drive(seed: int, worker: int, steps: int, fresh: bool = False) -> tuple[list[str], _FakeStub]:
    stub = _FakeStub()
    framing = random.Random(f"kgrec-load-framing:{seed}:{worker}") if fresh else None
    rng = random.Random(f"kgrec-load:{seed}:{worker}")
    shopper = Shopper(stub, rng, n_users=5, framing=framing)  # type: ignore[arg-type]

    async def go() -> list[str]:
        return [(await shopper.step()).rpc for _ in range(steps)]

    return asyncio.run(go()), stub


def test_shoppers_follow_a_fixed_seeded_mix() -> None:
    rpcs, stub = _drive(7, 0, 400)
    again, stub2 = _drive(7, 0, 400)
    assert (rpcs, stub.calls) == (again, stub2.calls)
    assert _drive(7, 1, 400)[1].calls != stub.calls
    share = {name: rpcs.count(name) / len(rpcs) for name in set(rpcs)}
    assert share["Recommend:first"] == pytest.approx(MIX[0], abs=0.08)
    assert share["Recommend:follow-up"] == pytest.approx(MIX[1], abs=0.08)
    assert share["Feedback"] == pytest.approx(MIX[2], abs=0.08)
    session_user: dict[str, str] = {}
    for i, (rpc, user, session, text) in enumerate(stub.calls):
        if rpc == "Recommend" and not session:
            assert text in FIRST_TURNS
            session_user[f"s{i + 1}"] = user
        elif rpc == "Recommend":
            assert text in FOLLOW_UPS
            assert session_user[session] == user  # a follow-up stays in its owner's session
        else:
            assert session_user[session] == user and text.startswith("prod:")
    assert any(u for u in session_user.values()) and "" in session_user.values()


def test_fresh_messages_frame_the_same_calls_in_words_rarely_sent_twice() -> None:
    """``--fresh-messages``: the same calls, users and items as the plain mix, each message
    the plain one inside a seeded opening and closing, most of them sent once."""
    plain_rpcs, plain = _drive(7, 0, 2000)
    rpcs, fresh = _drive(7, 0, 2000, fresh=True)
    assert rpcs == plain_rpcs and fresh.calls == _drive(7, 0, 2000, fresh=True)[1].calls
    texts = []
    for was, now in zip(plain.calls, fresh.calls, strict=True):
        assert was[:3] == now[:3]
        if was[0] == "Recommend":
            at = now[3].index(was[3])
            opening, rest = now[3][:at], now[3][at + len(was[3]) :]
            assert opening in OPENINGS
            assert any(rest == c + e for c in CLOSINGS for e in SIGN_OFFS)
            texts.append(now[3])
        else:
            assert was[3] == now[3]
    assert len(set(texts)) >= 0.8 * len(texts)


def test_proc_usage_of_this_process() -> None:
    use = proc_usage(os.getpid())
    assert use.rss_mb > 10 and use.cpu_s > 0


def test_proc_usage_counts_worker_children_as_server_and_others_as_graph_db() -> None:
    before = proc_usage(os.getpid())
    sleep = "import time; time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", sleep, "server.worker"])
    other = subprocess.Popen([sys.executable, "-c", sleep])
    try:
        for _ in range(100):  # until both interpreters are up (their RSS counted)
            use = proc_usage(os.getpid())
            both_up = use.children_rss_mb > before.children_rss_mb + 3 and len(use.processes) == 2
            if both_up and use.rss_mb > before.rss_mb + 3:  # the worker's own, not only the other's
                break
            time.sleep(0.05)
        names = [name for name, _, _ in use.processes]
        assert names == ["parent", f"worker {worker.pid}"]
        assert use.rss_mb == pytest.approx(sum(r for _, r, _ in use.processes))
        assert use.rss_mb > before.rss_mb + 3 and use.children_rss_mb > before.children_rss_mb
    finally:
        for proc in (worker, other):
            proc.kill()
            proc.wait()


def test_histograms_of_several_workers_add_up() -> None:
    one = Histogram(((0.1, 2.0), (math.inf, 3.0)), 0.5, 3.0)
    two = Histogram(((0.1, 1.0), (math.inf, 1.0)), 0.05, 1.0)
    assert one.plus(two) == Histogram(((0.1, 3.0), (math.inf, 4.0)), 0.55, 4.0)
    assert one.plus(None) is one


def test_a_worker_without_a_snapshot_is_sent_a_turn_until_it_has_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker whose start-up snapshot build failed builds at its next turn: the wait
    sends one every NUDGE_S seconds instead of waiting for a turn that never comes."""
    gauges = {"w0": 300.0, "w1": 0.0}
    sent: list[str] = []

    async def nudge(self: load.SizeRun, turns: int | None = None) -> None:
        sent.append(f"{turns} turn")
        gauges["w1"] = 300.0  # that turn started the second worker's build

    monkeypatch.setattr(load, "scrape", lambda url: url)
    monkeypatch.setattr(load, "_gauge", lambda text, name: gauges[text])
    monkeypatch.setattr(load, "NUDGE_S", 0.2)
    monkeypatch.setattr(load.SizeRun, "warm_up", nudge)
    run = load.SizeRun(argparse.Namespace(), 300, SimpleNamespace(pid=0), ["w0", "w1"])  # type: ignore[arg-type]
    assert run.wait_snapshot(timeout=30) == 300
    assert sent == ["1 turn"]
    assert "1 worker(s) without a snapshot yet" in capsys.readouterr().out


def test_score_batches_are_summed_over_the_workers_scrapes(monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``--device cuda`` reports per phase: the server's batch counters, from the real
    metrics exposition (server/metrics.py), summed over the workers."""
    from models.scoring.dynamic_batcher import BATCH_STATS, ENCODE_STATS

    base = Metrics().render().decode()
    before, encoded = BATCH_STATS.snapshot(), ENCODE_STATS.snapshot()
    BATCH_STATS.add(3)
    BATCH_STATS.add(1)
    ENCODE_STATS.add(2)
    after = Metrics().render().decode()
    monkeypatch.setattr(load, "scrape", {"w0": base, "w1": after}.__getitem__)
    run = load.SizeRun(argparse.Namespace(), 300, SimpleNamespace(pid=0), ["w0", "w1"])  # type: ignore[arg-type]
    assert run.batches() == (
        2 * before[0] + 2, 2 * before[1] + 4, 2 * encoded[0] + 1, 2 * encoded[1] + 2
    )  # fmt: skip


def test_a_concurrency_run_in_several_phases_gets_its_median_and_range() -> None:
    run = load.SizeRun(argparse.Namespace(), 300, SimpleNamespace(pid=0), [])  # type: ignore[arg-type]
    run.summary = {1: [(9.0, 20.0, 90.0)], 32: [(150.0, 400.0, 180.0), (120.0, 300.0, 210.0),
                                               (130.0, 350.0, 200.0)]}  # fmt: skip
    assert run.repeated() == [
        "  c=32, 3 phases, Recommend median (range): p50 ms 130.0 (120.0-150.0), "
        "p99 ms 350.0 (300.0-400.0), calls/s 200.0 (180.0-210.0)"
    ]


def test_server_warnings_carry_the_exception_under_them() -> None:
    lines = [
        "2026-12-04 11:20:45,208 WARNING kg._cypher_candidates/w1 [-] could not build it\n",
        "Traceback (most recent call last):\n",
        '  File "kg/falkordb_store.py", line 137, in _read\n',
        "    res = self._call(self._graph.ro_query, query, params)\n",
        "redis.exceptions.TimeoutError: Timeout reading from socket\n",
        "\n",
        "The above exception was the direct cause of the following exception:\n",
        "kg.exceptions.GraphUnavailableError: FalkorDB is unavailable: Timeout\n",
        "2026-12-04 11:20:46,000 INFO server.pipeline [r1] turn session=s items=10\n",
        "NotAnException: an info line's continuation is not printed\n",
        "2026-12-04 11:20:47,000 ERROR server.app [-] boom\n",
    ]
    assert load.server_warnings(lines) == [
        "2026-12-04 11:20:45,208 WARNING kg._cypher_candidates/w1 [-] could not build it",
        "  redis.exceptions.TimeoutError: Timeout reading from socket",
        "  kg.exceptions.GraphUnavailableError: FalkorDB is unavailable: Timeout",
        "2026-12-04 11:20:47,000 ERROR server.app [-] boom",
    ]


def test_the_machine_speed_and_stolen_cpu_time_are_read() -> None:
    """A slow hour on a shared VM shows in the run: a fixed loop's time, and the share of
    CPU time the hypervisor gave to other guests (``/proc/stat``'s steal column)."""
    assert 0 < cpu_probe_ms(repeat=1) < 10_000
    before = cpu_ticks("cpu  100 5 50 800 10 0 5 30 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
    after = cpu_ticks("cpu  200 5 80 1100 10 0 5 130 0 0\n")
    assert before == (1000, 30) and after == (1530, 130)
    assert steal_share(before, after) == pytest.approx(100 / 530)
    assert cpu_ticks("intr 1 2 3\n") is None and steal_share(None, after) is None


def test_startup_stages_are_read_from_the_server_log() -> None:
    lines = [
        "2026-12-02 03:10:01,5 INFO server.serve [-] opening the graph DB: done in 0.8 s\n",
        "2026-12-02 03:10:09,1 INFO server.serve [-] empty graph: generating and loading the "
        "demo store (300 products, 40 users): done in 7.9 s; 300 products\n",
        "2026-12-02 03:10:10,0 INFO server.pipeline [r1] turn session=s items=10\n",
    ]
    assert startup_stages(lines) == [
        ("opening the graph DB", "0.8"),
        ("empty graph: generating and loading the demo store (300 products, 40 users)", "7.9"),
    ]


@pytest.mark.parametrize(
    "argv",
    [["--concurrency", "0"], ["--concurrency", "1,x"], ["--products", "1,2", "--data-dir", "d"]],
)
def test_bad_arguments_are_rejected(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


@pytest.mark.slow
def test_load_benchmark_against_a_tiny_served_demo(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "bench.load", "--products", "300", "--users", "40",
           "--no-train-model", "--concurrency", "1,2", "--seconds", "2", "--floor-seconds", "1",
           "--warmup", "2", "--data-dir", str(tmp_path / "data")]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=280)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert re.search(
        r"^os\.cpu_count\(\) \d+; load average before [\d.]+ [\d.]+ [\d.]+$", out, re.M
    )
    assert re.search(
        r"^start-up to SERVING [\d.]+ s; RSS server \d+ MB, graph DB \d+ MB$", out, re.M
    )
    assert re.search(r"^  start-up stage +[\d.]+ s  \S", out, re.M)  # logged at INFO
    # measured once candidates come from the snapshot, all 300 products in it
    assert re.search(r"^candidate snapshot of 300 products ready [\d.]+ s after SERVING", out, re.M)
    blocks = re.split(r"^-- concurrency ", out, flags=re.M)[1:]
    assert [b.split(":")[0] for b in blocks] == ["1", "2"]
    for block in blocks:
        rows = {line.split()[0]: line.split() for line in block.splitlines()[1:] if line.strip()}
        for name in ("Health", "Recommend", "Recommend:first"):
            cells = rows[name]
            assert len(cells) == 10 and int(cells[1]) > 0 and float(cells[3]) > 0, block
        assert rows["Health"][6] == "1.0"  # the floor is 1x itself
        assert rows["Recommend"][-1] == "0", block  # no errors
        for step in STEPS:
            assert int(rows[step][1]) > 0, block  # every step was timed by the server
        assert "CPU per wall second: server" in block
    assert re.search(r"^load average after [\d.]+ [\d.]+ [\d.]+$", out, re.M)


@pytest.mark.parametrize(("connections", "expected"), [(1, 1), (3, 3), (0, 4)])
def test_a_phase_spreads_its_clients_over_the_connections_asked_for(
    connections: int, expected: int
) -> None:
    import grpc.aio
    from grpc_health.v1 import health, health_pb2_grpc

    from bench.load_workload import HealthProbe, run_phase

    peers: set[str] = set()

    class Recording(health.aio.HealthServicer):  # type: ignore[misc]
        async def Check(self, request: object, context: grpc.aio.ServicerContext) -> object:  # noqa: N802
            peers.add(context.peer())
            return await super().Check(request, context)

    async def go() -> None:
        server = grpc.aio.server()
        health_pb2_grpc.add_HealthServicer_to_server(Recording(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            result = await run_phase(
                f"127.0.0.1:{port}", 4, 0.3, lambda ch, i: HealthProbe.on(ch), connections
            )
        finally:
            await server.stop(None)
        assert {s.code for s in result.samples} == {"OK"}

    asyncio.run(go())
    assert len(peers) == expected  # one client port per connection
