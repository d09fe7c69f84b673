"""``kgrec evaluate --policy NAME[:STATE_FILE] --impressions DIR``: a ranking policy's click
rate estimated off-policy from the impression log, before it is switched on.

The log (``server/impression_log.py``, read by :mod:`models.feedback.impressions`) holds each
turn's ranked candidates with their signals and the shown slate with its propensities; the
policy (``off``, ``linucb`` or ``thompson`` from :mod:`models.feedback`, fresh or with the state
saved in ``STATE_FILE``) re-ranks each turn's logged candidates, and
:func:`models.feedback.ope.evaluate_policy` estimates its click rate per shown slot with IPS,
SNIPS and doubly robust estimators and 95% bootstrap intervals over sessions. Printed next to
them: the logging policy's own observed click rate, and the share of the policy's slots the
log cannot speak for (no exploration there); estimates mean little when it is not near 0.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from kgrec.domain import EventType
from kgrec.errors import ConfigError

__all__ = ["add_policy_arguments", "load_target", "run"]


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("off-policy evaluation (from the impression log)")
    g.add_argument(
        "--policy",
        metavar="NAME[:STATE_FILE]",
        help="estimate this ranking policy's click rate from logged impressions: off, linucb "
        "or thompson, fresh or with a saved bandit state",
    )
    g.add_argument(
        "--impressions", type=Path, help="the impression log (default <data-dir>/impressions)"
    )
    g.add_argument(
        "--reward",
        default="click",
        help="comma-separated event types that count as a click (default: %(default)s)",
    )
    g.add_argument(
        "--logged-by", help="use only turns logged under this policy (default: every turn)"
    )
    g.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples")
    g.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")


def load_target(spec: str) -> tuple[str, object]:
    """``NAME[:STATE_FILE]`` -> (name, the policy), or ``ConfigError``."""
    from models.feedback import POLICIES, make_policy

    name, _, state = spec.partition(":")
    if name not in POLICIES:
        raise ConfigError(f"--policy: {name!r} is not one of {', '.join(sorted(POLICIES))}")
    policy = make_policy(name)
    if state:
        if name == "off":
            raise ConfigError("--policy: 'off' has no state file")
        try:
            policy.load(Path(state))
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"--policy: cannot load {state}: {e}") from e
    return name, policy


def _reward_events(spec: str) -> frozenset[str]:
    kinds = frozenset(s.strip() for s in spec.split(",") if s.strip())
    valid = {e.value for e in EventType}
    if not kinds or not kinds <= valid:
        raise ConfigError(f"--reward: {spec!r}: use event types from {', '.join(sorted(valid))}")
    return kinds


def run(args: argparse.Namespace) -> int:
    from models.feedback import SIGNALS
    from models.feedback.impressions import logged_turns, read_log
    from models.feedback.ope import evaluate_policy

    name, policy = load_target(args.policy)
    rewards = _reward_events(args.reward)
    if args.bootstrap < 10:
        raise ConfigError("--bootstrap must be >= 10")
    directory = args.impressions or Path(args.data_dir) / "impressions"
    impressions, outcomes = read_log(directory)
    by_policy: dict[str, int] = {}
    for imp in impressions:
        by_policy[imp.policy] = by_policy.get(imp.policy, 0) + 1
    if args.logged_by:
        impressions = [i for i in impressions if i.policy == args.logged_by]
    impressions = [i for i in impressions if i.shown]
    if not impressions:
        raise ConfigError(f"--impressions: no logged turn to evaluate in {directory}")
    for imp in impressions:
        if imp.signals != SIGNALS:
            raise ConfigError(
                f"--impressions: turn {imp.request_id or imp.session_id} was logged with "
                f"signals {list(imp.signals)}, the policy reads {list(SIGNALS)}"
            )
    turns = logged_turns(impressions, outcomes, lambda kind, value: kind in rewards)
    report = evaluate_policy(turns, policy, n_boot=args.bootstrap, seed=args.seed)  # type: ignore[arg-type]
    explored = sum(i.explored for i in impressions) / len(impressions)
    if args.json:
        print(json.dumps({"policy": args.policy, "logged_by": by_policy, **asdict(report)}))
        return 0
    logged = ", ".join(f"{k} {n}" for k, n in sorted(by_policy.items()))
    print(
        f"policy {args.policy} on {directory}: {report.turns} turns, {report.impressions} "
        f"impressions, {report.sessions} sessions, {report.clicks} clicks "
        f"(reward: {', '.join(sorted(rewards))}; logged by: {logged}; "
        f"{explored:.0%} of turns explored)"
    )
    print(f"  {'estimator':<24} {'CTR':>8}  95% interval")
    rows = [("logged (observed)", report.logged)]
    rows += [(f"{name} {k.upper()}", e) for k, e in report.estimates.items()]
    for label, e in rows:
        print(f"  {label:<24} {e.value:8.4f}  [{e.low:.4f}, {e.high:.4f}]")
    print(
        f"  unsupported: {report.unsupported:.1%} of the policy's slots "
        f"(logged with probability 0); same item as logged: {report.matched:.1%}"
    )
    return 0
