"""The impression log's records, and reading them back as logged turns with rewards.

The server (``server/impression_log.py``) appends JSON lines under ``data_dir/impressions/``,
two kinds:

* ``{"kind": "impression", ...}``: one per Recommend turn, :class:`Impression`: who (the
  session, the user as a keyed hash), which turn, under which policy, the candidates it
  could have shown (the blend's best ``max(limit, explore_top)``, in the blend's order) with
  the signal row each was ranked on (``models.feedback.policy.signal_matrix``, columns named
  by ``signals``), the logging policy's order of them (``order``: the identity for the blend,
  the policy ``"off"``), and the shown slate: which candidate is at each position and its
  propensity (:mod:`models.feedback.slate`; a candidate's rank in the slate draw is its
  place in ``order``). Candidates and signals in the blend's order are what a
  :class:`~models.feedback.policy.RankingPolicy` reads, so any policy's slate can be
  recomputed offline.
* ``{"kind": "outcome", ...}``: one per recorded (non-duplicate) feedback event,
  :class:`Outcome`: session, item, event type, value, time.

Outcomes are joined to impressions here (:func:`logged_turns`), not in the graph: an outcome
counts for the latest impression of its session that showed its item at or before the
outcome's time; outcomes of items no turn showed are ignored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kgrec.errors import InvalidInputError

__all__ = [
    "Impression",
    "LoggedTurn",
    "Outcome",
    "is_click",
    "log_files",
    "logged_turns",
    "read_log",
]

logger = logging.getLogger(__name__)

#: the record format's version; a reader refuses records of another
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Impression:
    """One served turn (see the module docs)."""

    request_id: str
    session_id: str
    user: str  # keyed hash of the user id ("-": anonymous)
    turn: int
    ts: float
    policy: str  # the logging ranking policy ("off": the blend's own order)
    model_version: str
    explored: bool
    rate: float  # exploration probability of this turn (0: deterministic slate)
    pool: int  # M: the slate is drawn from candidates[:pool] when exploring
    signals: tuple[str, ...]
    candidates: tuple[str, ...]  # in the blend's order
    features: tuple[tuple[float, ...], ...]  # one signal row per candidate
    order: tuple[int, ...]  # the logging policy's ranking: candidate indices, best first
    shown: tuple[int, ...]  # shown[k]: the candidate (index) shown at position k
    propensities: tuple[float, ...]  # propensities[k]: P(that candidate at position k)

    def to_json(self) -> str:
        return json.dumps({"kind": "impression", "v": FORMAT_VERSION, **_fields(self)})

    @property
    def shown_ids(self) -> tuple[str, ...]:
        return tuple(self.candidates[j] for j in self.shown)

    def ranks(self) -> list[int]:
        """``ranks()[j]``: candidate ``j``'s place in the logging policy's ``order``."""
        ranks = [0] * len(self.order)
        for r, j in enumerate(self.order):
            ranks[j] = r
        return ranks


@dataclass(frozen=True, slots=True)
class Outcome:
    """One recorded feedback event, as off-policy evaluation needs it."""

    session_id: str
    user: str
    item_id: str
    event_type: str
    value: float
    ts: float

    def to_json(self) -> str:
        return json.dumps({"kind": "outcome", "v": FORMAT_VERSION, **_fields(self)})


def _fields(record: Impression | Outcome) -> dict[str, Any]:
    """A record's fields by name, as ``asdict`` gives them for JSON without its deep copies (a
    turn's impression holds a row of floats per candidate)."""
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def is_click(event_type: str, value: float = 0.0) -> bool:
    """The default reward: a click (what click-through rate counts)."""
    return event_type == "click"


@dataclass(slots=True)
class LoggedTurn:
    """An impression with its rewards: ``rewards[k]`` is 1 when the item shown at position
    ``k`` got a rewarding outcome."""

    impression: Impression
    features: np.ndarray  # float[m, d], the candidates' signal rows
    rewards: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def session_id(self) -> str:
        return self.impression.session_id


def log_files(directory: Path) -> list[Path]:
    """The log's JSONL files, oldest first (names start with their UTC start time)."""
    if not directory.is_dir():
        raise InvalidInputError("impressions", f"{directory} is not a directory")
    return sorted(directory.glob("*.jsonl"))


def _records(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except ValueError:  # a torn last line of a crashed writer
                    logger.warning("%s:%d: not JSON, skipped", path, n)
                    continue
                if record.get("v") != FORMAT_VERSION:
                    raise InvalidInputError(
                        "impressions", f"{path}:{n}: format version {record.get('v')!r}"
                    )
                yield record


def _impression(r: dict[str, Any]) -> Impression:
    imp = _parse_impression(r)
    n = len(imp.candidates)
    if (
        sorted(imp.order) != list(range(n))
        or len(imp.features) != n
        or len(imp.propensities) != len(imp.shown)
        or not all(0 <= j < n for j in imp.shown)
    ):
        raise ValueError("order, features, shown and propensities do not fit the candidates")
    return imp


def _parse_impression(r: dict[str, Any]) -> Impression:
    return Impression(
        request_id=str(r["request_id"]), session_id=str(r["session_id"]), user=str(r["user"]),
        turn=int(r["turn"]), ts=float(r["ts"]), policy=str(r["policy"]),
        model_version=str(r["model_version"]), explored=bool(r["explored"]),
        rate=float(r["rate"]), pool=int(r["pool"]), signals=tuple(r["signals"]),
        candidates=tuple(r["candidates"]),
        features=tuple(tuple(float(x) for x in row) for row in r["features"]),
        order=tuple(int(j) for j in r["order"]), shown=tuple(int(j) for j in r["shown"]),
        propensities=tuple(float(p) for p in r["propensities"]),
    )  # fmt: skip


def read_log(directory: Path) -> tuple[list[Impression], list[Outcome]]:
    """Every impression and outcome under ``directory``, in file order."""
    impressions: list[Impression] = []
    outcomes: list[Outcome] = []
    for r in _records(log_files(directory)):
        try:
            if r.get("kind") == "impression":
                impressions.append(_impression(r))
            elif r.get("kind") == "outcome":
                outcomes.append(
                    Outcome(
                        str(r["session_id"]),
                        str(r["user"]),
                        str(r["item_id"]),
                        str(r["event_type"]),
                        float(r["value"]),
                        float(r["ts"]),
                    )  # fmt: skip
                )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInputError("impressions", f"malformed record {r!r:.200}: {e}") from e
    return impressions, outcomes


def logged_turns(
    impressions: Iterable[Impression],
    outcomes: Iterable[Outcome],
    reward: Callable[[str, float], bool] = is_click,
) -> list[LoggedTurn]:
    """The impressions with their rewards joined from ``outcomes`` (see the module docs);
    only outcomes for which ``reward(event_type, value)`` is true count."""
    turns = [
        LoggedTurn(
            imp,
            np.asarray(imp.features, dtype=np.float64).reshape(len(imp.candidates), -1),
            np.zeros(len(imp.shown)),
        )
        for imp in impressions
    ]
    # (session, item) -> [(ts, turn index, position)], in time order
    shown_at: dict[tuple[str, str], list[tuple[float, int, int]]] = {}
    for t, lt in enumerate(turns):
        for k, item in enumerate(lt.impression.shown_ids):
            shown_at.setdefault((lt.session_id, item), []).append((lt.impression.ts, t, k))
    for seen in shown_at.values():
        seen.sort()
    for o in outcomes:
        if not reward(o.event_type, o.value):
            continue
        latest = None
        for ts, t, k in shown_at.get((o.session_id, o.item_id), ()):
            if ts > o.ts:
                break
            latest = (t, k)
        if latest is not None:
            turns[latest[0]].rewards[latest[1]] = 1.0
    return turns
