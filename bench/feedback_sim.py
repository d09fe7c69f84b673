"""Simulator benchmark: does feedback change what comes next, measurably?

    python -m bench.feedback_sim [--sessions-per-arm 2000] [--seed 0] [--products 800]
        [--users 300] [--arms none,session,profile,bandit] [--no-ope] [--data-dir DIR]
        [--out FIGURES.json] [--compare BEFORE.json]

The stack is the one ``kgrec serve`` runs (:func:`server.serve.build_runtime`: embedded graph
DB, the demo store of ``--products`` products and ``--users`` users, the small model trained
on it, the pipeline from :func:`server.builder.build_pipeline`), called in-process
(``Pipeline.recommend_sync`` / ``feedback_sync``, what the servicer calls: no gRPC, so the
figures are the ranking's, and a run takes minutes, not hours).

Shoppers (:mod:`bench.feedback_sim_users`): the latent tastes of extra demo users generated
with the same seed (same products) but never loaded nor trained on, talking under fresh ids
``sim:<n>``: the model has no embedding for them, so everything it knows of them comes from
the conversation and their own events, which is what session adaptation and cross-session
profiles are for (``--known-users K`` makes the first K shoppers demo users the model trained
on, under their own ids). Each has ``--sessions`` sessions of ``--turns`` turns: a seeded
opener naming one of their liked categories, then "show me more" / "something else" / "more
like the second one" (when they clicked it). They click, buy, rate, dismiss and dislike by a
position-based click model of their ground-truth utility; every event goes to the session as
Feedback. ``explain=false`` (no KG paths) and ``explore=false`` everywhere except the
off-policy logging run.

Arms are :class:`~server.settings.Settings` changes only (:data:`ARMS`): ``none`` (no
adaptation, the blend's order), ``session`` (within-session adaptation), ``profile``
(+ cross-session profiles), ``bandit`` (+ the LinUCB re-ranker). Each arm gets a data dir of
its own (a fresh graph with the demo store, a copy of the trained model, its own impression
log and bandit state), so nothing one arm's shoppers did reaches another's; all arms run the
same shoppers with the same scripts and the same click-model dice (common random numbers), so
lifts are paired by shopper.

Per arm it prints sessions, CTR (clicks / impressions) of later turns (turn >= 2) and of all
turns, purchase rate (purchases / impressions), NDCG@10 of later turns against the shopper's
true top ``--top-n`` (binary relevance) and the share of later-turn items already shown
earlier in the session (repeats; a diagnostic: a shopper does not click twice), each with a
95% bootstrap interval over shoppers; then the lift of the
last arm over the first (full adaptation over none) and of each arm over the one before it
(each step's own contribution), with paired bootstrap intervals. ``--out`` keeps each
shopper's sums too, so ``--compare BEFORE.json`` (an earlier ``--out`` of the same shoppers,
e.g. before a change) adds each arm's lift over that run, paired by shopper the same way:
the same seed means the same shoppers, scripts and click dice.

The off-policy check (:func:`ope_check`, needs ``models.feedback.ope`` and
``models.feedback.bandit``; says so and skips when they are missing): the ``none`` arm runs
again with exploration on (``explore_rate`` 0.3, ``explore_top`` 20) and the impression log;
a LinUCB policy learns from that log and is frozen; IPS, SNIPS and DR estimate its CTR from
the log; then the frozen policy serves the same shoppers on-policy (``rerank_policy=linucb``
and that state, its ``update`` patched out for the run: the one place this bench reaches
inside the served code)
and both figures are printed with their intervals.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from bench.feedback_sim_report import (
    ArmResult,
    arm_figures,
    compare_runs,
    lift_figures,
    print_report,
)
from bench.feedback_sim_stats import Estimate, Tally, bootstrap_ratio
from bench.feedback_sim_users import (
    ClickModel,
    SimUser,
    first_message,
    follow_up,
    make_users,
    ndcg_at,
    turn_rng,
)
from kgrec.domain import EventType, FeedbackEvent, RecommendQuery

log = logging.getLogger(__name__)

#: arm name -> the Settings it changes; run in this order, each step adds one thing
ARMS: dict[str, dict[str, Any]] = {
    "none": {"adapt_session": False, "adapt_profile": False, "rerank_policy": "off"},
    "session": {"adapt_session": True, "adapt_profile": False, "rerank_policy": "off"},
    "profile": {"adapt_session": True, "adapt_profile": True, "rerank_policy": "off"},
    "bandit": {"adapt_session": True, "adapt_profile": True, "rerank_policy": "linucb"},
}
#: what every arm sets: no exploration (the OPE logging run turns it on)
COMMON: dict[str, Any] = {"explore_rate": 0.0, "log_level": "WARNING"}
#: the OPE logging run: the non-adaptive arm, exploring, logging impressions
LOGGING: dict[str, Any] = {**ARMS["none"], "explore_rate": 0.3, "explore_top": 20,
                           "impression_log": True}  # fmt: skip
SIM_PREFIX = "sim:"


@dataclass(frozen=True, slots=True)
class SimConfig:
    """One simulation: shoppers, their sessions and the click model."""

    seed: int = 0
    sessions: int = 2  # per shopper
    turns: int = 3  # per session
    limit: int = 10  # items shown per turn
    workers: int = 1  # threads running shoppers (see :func:`run_arm`)
    click: ClickModel = ClickModel()


# -- the stack ---------------------------------------------------------------------------------


def base_settings(
    data_dir: Path, products: int, users: int, seed: int, train_model: bool = True
) -> Any:
    from server.settings import Settings

    return Settings(data_dir=data_dir, demo_products=products, demo_users=users, seed=seed,
                    port=0, train_model=train_model, **COMMON)  # fmt: skip


def prepare_model(settings: Any) -> Path:
    """Train the small model once into ``data_dir/models`` (reused when already there), as
    ``kgrec serve`` would at its first start; returns that folder."""
    from kg.demo import generate_demo
    from models.scoring import latest_checkpoint
    from server.serve import ensure_model

    if settings.train_model and latest_checkpoint(settings.models_path) is None:
        demo = generate_demo(settings.seed, settings.demo_products, settings.demo_users)
        demo.render_images(Path(settings.data_dir))  # the model reads the product images
        ensure_model(settings, demo)
    return Path(settings.models_path)


@contextlib.contextmanager
def arm_runtime(base: Any, name: str, changes: dict[str, Any], models: Path) -> Iterator[Any]:
    """The served stack for one arm in ``data_dir/arms/<name>`` (emptied first): a fresh
    graph with the demo store and a copy of the trained model."""
    from server.serve import build_runtime

    arm_dir = Path(base.data_dir) / "arms" / name
    shutil.rmtree(arm_dir, ignore_errors=True)
    arm_dir.mkdir(parents=True)
    if models.is_dir():  # none with --no-train-model: the blend ranks by KG match + popularity
        shutil.copytree(models, arm_dir / "models")
    settings = base.replace(data_dir=arm_dir, model_dir="", **changes)
    runtime = build_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.close()


# -- shoppers ----------------------------------------------------------------------------------


def simulated_users(
    products: int, users: int, seed: int, n: int, known: int = 0, top_n: int = 20
) -> list[SimUser]:
    """``n`` shoppers: ``known`` demo users under their own ids, the rest the tastes of extra
    demo users (ids ``user:<users + i>`` in a store generated with ``users + n`` users, whose
    products are the served store's) under ids ``sim:<i>``."""
    from kg.demo import generate_demo

    if not 0 <= known <= min(n, users):
        raise ValueError(f"known users: {known} not in 0..{min(n, users)}")
    demo = generate_demo(seed=seed, n_products=products, n_users=users + n - known)
    served = generate_demo(seed=seed, n_products=products, n_users=0)
    if [p["id"] for p in demo.products] != [p["id"] for p in served.products]:
        raise RuntimeError("the shoppers' demo store does not have the served store's products")
    taste_ids = [f"user:{i}" for i in range(known)]
    taste_ids += [f"user:{users + i}" for i in range(n - known)]
    user_ids = taste_ids[:known] + [f"{SIM_PREFIX}{i}" for i in range(known, n)]
    return make_users(demo, taste_ids, user_ids, top_n)


# -- one arm -----------------------------------------------------------------------------------


def run_session(
    pipeline: Any, user: SimUser, session: int, cfg: SimConfig, tally: Tally,
    explore: bool | None = False,
) -> None:  # fmt: skip
    """One session of ``user``: ``cfg.turns`` turns, every reaction sent as Feedback.
    ``explore``: the requests' ``explore`` (``None``: the server's ``explore_rate`` decides)."""
    category = user.session_category(session, cfg.seed)
    sid, clicked_at = "", []  # type: ignore[var-annotated]
    blocked: set[str] = set()  # clicked or turned down: not clicked again
    seen: set[str] = set()  # shown earlier in the session
    for turn in range(1, cfg.turns + 1):
        rng = turn_rng(cfg.seed, user.index, session, turn)
        draws = rng.random((cfg.limit, 6))  # first, so they do not depend on the script
        message = first_message(category, rng) if turn == 1 else follow_up(rng, clicked_at)
        query = RecommendQuery(message, user_id=user.user_id, session_id=sid, limit=cfg.limit,
                               explain=False, explore=explore)  # fmt: skip
        rec = pipeline.recommend_sync(query)
        sid = rec.session_id
        ids = [item.item_id for item in rec.items]
        reaction = cfg.click.react(user.utility_z(ids), draws, [i in blocked for i in ids])
        for item, kind, value in reaction.events(ids):
            pipeline.feedback_sync(FeedbackEvent(user.user_id, sid, item, kind, value))
            tally.events += 1
            if kind in (EventType.CLICK, EventType.DISMISS, EventType.DISLIKE):
                blocked.add(item)
        clicked_at = [int(k) for k in np.flatnonzero(reaction.click)]
        repeats = sum(i in seen for i in ids)
        seen.update(ids)
        tally.add_turn(user.index, turn, reaction.click.astype(float),
                       int(reaction.buy.sum()), ndcg_at(ids, user.relevant), repeats)  # fmt: skip
    tally.sessions += 1


def run_arm(
    pipeline: Any,
    users: Sequence[SimUser],
    cfg: SimConfig,
    label: str,
    explore: bool | None = False,
) -> Tally:
    """Every session of every shopper (each shopper's sessions in order), with a progress
    line on stderr. ``cfg.workers > 1`` runs shoppers in that many threads (the graph DB works in
    its own process meanwhile): faster, but no longer bit-for-bit reproducible, since events
    of one shopper (popularity, the bandit) reach another's turns in a different order."""
    from tqdm import tqdm

    total = len(users) * cfg.sessions
    with tqdm(total=total, desc=f"{label:>8}", unit="session", file=sys.stderr,
              mininterval=2.0, dynamic_ncols=True) as bar:  # fmt: skip

        def shoppers(chunk: Sequence[SimUser]) -> Tally:
            tally = Tally(len(users))
            for user in chunk:
                for s in range(cfg.sessions):
                    run_session(pipeline, user, s, cfg, tally, explore)
                    bar.update(1)
            return tally

        n = cfg.workers
        if n <= 1:
            return shoppers(users)
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(shoppers, [users[i::n] for i in range(n)]))
    return Tally.merge(parts)


# -- the off-policy check ----------------------------------------------------------------------


def ope_check(
    base: Any, models: Path, users: Sequence[SimUser], cfg: SimConfig, n_boot: int
) -> dict[str, Any] | None:
    """Log the non-adaptive policy exploring, learn a LinUCB policy from that log, estimate
    its CTR off-policy (IPS, SNIPS, DR), then serve it frozen on-policy to the same shoppers.

    Imports ``models.feedback`` lazily: returns ``None`` (and says why) when the impression
    log / OPE / bandit modules are not there yet."""
    try:
        from models.feedback import make_policy
        from models.feedback.bandit import state_path
        from models.feedback.impressions import logged_turns, read_log
        from models.feedback.ope import evaluate_policy
    except ImportError as e:
        print(f"\noff-policy check skipped: {e} (models.feedback.ope / .bandit not merged yet)")
        return None
    started = time.perf_counter()
    with arm_runtime(base, "ope-logging", LOGGING, models) as runtime:
        version = runtime.pipeline.model_version
        logging_tally = run_arm(runtime.pipeline, users, cfg, "logging", explore=None)
    log_dir = Path(base.data_dir) / "arms" / "ope-logging" / "impressions"
    turns = logged_turns(*read_log(log_dir))
    target = make_policy("linucb", model_version=version)
    for t in turns:
        shown = list(t.impression.shown)
        if shown:
            target.update(t.features[shown], t.rewards)
    report = evaluate_policy(turns, target, n_boot=n_boot, seed=cfg.seed)

    frozen = models.parent / "ope-target-models"
    shutil.rmtree(frozen, ignore_errors=True)
    if models.is_dir():
        shutil.copytree(models, frozen)
    else:  # --no-train-model: no checkpoint, the bandit's state alone
        frozen.mkdir(parents=True)
    target.save(state_path(frozen, "linucb", version))  # where the builder's pipeline looks
    changes = {**ARMS["none"], "rerank_policy": "linucb"}
    # served as evaluated: the policy's learning switched off for this run
    frozen_update = mock.patch.object(type(target), "update", lambda self, x, r: None)
    with frozen_update, arm_runtime(base, "ope-target", changes, frozen) as runtime:
        on_policy = run_arm(runtime.pipeline, users, cfg, "target")
    truth = bootstrap_ratio(*on_policy.pair("ctr_all"), n_boot=n_boot, seed=cfg.seed)
    logged = bootstrap_ratio(*logging_tally.pair("ctr_all"), n_boot=n_boot, seed=cfg.seed)
    est = {k: Estimate(v.value, v.low, v.high) for k, v in report.estimates.items()}
    return {
        "logged_turns": len(turns),
        "logging_ctr": logged.as_dict(),
        "on_policy_ctr": truth.as_dict(),
        "estimates": {
            k: e.as_dict()
            | {
                "contains_on_policy": e.contains(truth.value),
                "inside_on_policy_interval": truth.contains(e.value),
            }
            for k, e in est.items()
        },
        "unsupported": report.unsupported,
        "matched": report.matched,
        "wall_s": time.perf_counter() - started,
    }


# -- report ------------------------------------------------------------------------------------


# -- CLI ---------------------------------------------------------------------------------------


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions-per-arm", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=2, help="sessions per shopper")
    ap.add_argument("--turns", type=int, default=3, help="turns per session")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--products", type=int, default=800, help="demo store products")
    ap.add_argument("--users", type=int, default=300, help="demo store users (trained on)")
    ap.add_argument("--known-users", type=int, default=0,
                    help="shoppers who are demo users the model trained on")  # fmt: skip
    ap.add_argument("--top-n", type=int, default=20, help="true top-N for NDCG@10")
    ap.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated of {list(ARMS)}")
    ap.add_argument("--no-ope", action="store_true", help="skip the off-policy check")
    ap.add_argument(
        "--no-train-model",
        action="store_true",
        help="serve without a model (KG match + popularity): a quick smoke run",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="threads running shoppers: faster, not bit-for-bit reproducible",
    )
    ap.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--data-dir", type=Path, help="keep (and reuse the model in) this dir")
    ap.add_argument("--out", type=Path, help="write every figure as JSON here")
    ap.add_argument(
        "--compare", type=Path, metavar="BEFORE.json",
        help="an earlier --out of the same shoppers (another commit): each arm's paired lift",
    )  # fmt: skip
    args = ap.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ARMS]
    if unknown or not arms:
        ap.error(f"--arms: unknown {unknown}; valid: {', '.join(ARMS)}")
    args.arms = arms
    for name in ("sessions_per_arm", "sessions", "turns", "products", "top_n", "bootstrap",
                 "workers"):  # fmt: skip
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.users < 0 or args.known_users < 0:
        ap.error("--users and --known-users must be >= 0")
    if args.known_users > min(args.users, math.ceil(args.sessions_per_arm / args.sessions)):
        ap.error("--known-users must be at most --users and the number of shoppers")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from server.serve import quiet_library_progress

    quiet_library_progress()
    started, load_before = time.perf_counter(), _loadavg()
    cfg = SimConfig(seed=args.seed, sessions=args.sessions, turns=args.turns,
                    workers=args.workers)  # fmt: skip
    n_users = math.ceil(args.sessions_per_arm / args.sessions)
    with contextlib.ExitStack() as stack:
        if args.data_dir is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="kgrec-sim-"))
        data_dir = args.data_dir or Path(tmp)
        base = base_settings(data_dir, args.products, args.users, args.seed,
                             not args.no_train_model)  # fmt: skip
        models = prepare_model(base)
        users = simulated_users(args.products, args.users, args.seed, n_users,
                                args.known_users, args.top_n)  # fmt: skip
        setup_s = time.perf_counter() - started
        print(f"{n_users} shoppers x {args.sessions} sessions x {args.turns} turns per arm; "
              f"store {args.products} products / {args.users} users; arms {args.arms}",
              flush=True)  # fmt: skip
        results = []
        for name in args.arms:
            changes = ARMS[name]
            with arm_runtime(base, name, changes, models) as runtime:
                t0 = time.perf_counter()
                tally = run_arm(runtime.pipeline, users, cfg, name)
                results.append(ArmResult(name, changes, tally, time.perf_counter() - t0))
        ope = None if args.no_ope else ope_check(base, models, users, cfg, args.bootstrap)
    figures = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "click_model": dataclasses.asdict(cfg.click),
        "arms": {r.name: arm_figures(r, args.bootstrap, args.seed) for r in results},
        "lifts": lift_figures(results, args.bootstrap, args.seed),
        "ope": ope,
        "wall_s": time.perf_counter() - started,
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": _loadavg(),
            "setup_s": setup_s,
        },  # fmt: skip
    }
    if args.compare:
        before = json.loads(args.compare.read_text())
        figures["lifts"] |= compare_runs(before, figures, args.bootstrap, args.seed)
    print_report(figures, LOGGING)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
