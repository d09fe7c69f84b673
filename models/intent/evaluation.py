"""Scoring parsers against the labelled set: intent accuracy, mention F1, constraint match.

* **intent accuracy** — share of utterances whose type is right.
* **mention (slot) F1** — micro P/R/F1 over ``(casefolded text, label, negated)`` triples,
  matched as multisets per utterance; ``mention_f1_text`` ignores the label. Soft wishes
  (:class:`~models.intent.intent.Preference`) count as slots too, keyed
  ``("kind=value", "Preference", negated)``: their value matters, not the words.
* **constraint exact match** — share of utterances whose price ``(min, max, relative, level)``
  (±0.01), reference multiset ``(kind, index, negated)`` and ``clear_constraints`` are all
  right.

Follow-up turns get a ``previous`` intent built from the previous message by the embedded
rules (what the pipeline would have stored), with the labelled previous type, so every backend
sees the same context.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from kgrec.domain import IntentType
from models.intent.dataset import EvalExample
from models.intent.embedded import EmbeddedIntentParser
from models.intent.intent import Intent, IntentParser


@dataclass(slots=True)
class EvalReport:
    """Aggregated scores of one backend on a list of examples."""

    n: int = 0
    correct_type: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tp_text: int = 0
    fp_text: int = 0
    fn_text: int = 0
    constraints_ok: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    backends: Counter = field(default_factory=Counter)  # which backend answered, how often
    backend_correct: Counter = field(default_factory=Counter)  # ... and got the type right
    errors: list[tuple[str, str]] = field(default_factory=list)  # (id, what was wrong)

    @property
    def accuracy(self) -> float:
        return self.correct_type / self.n if self.n else 0.0

    @staticmethod
    def _f1(tp: int, fp: int, fn: int) -> float:
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0

    @property
    def mention_f1(self) -> float:
        return self._f1(self.tp, self.fp, self.fn)

    @property
    def mention_precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def mention_recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def mention_f1_text(self) -> float:
        return self._f1(self.tp_text, self.fp_text, self.fn_text)

    @property
    def constraint_match(self) -> float:
        return self.constraints_ok / self.n if self.n else 0.0

    def percentile_ms(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        xs = sorted(self.latencies_ms)
        k = min(len(xs) - 1, max(0, round(q / 100 * (len(xs) - 1))))
        return xs[k]


def _mention_keys(items: Iterable[tuple[str, str | None, bool]], *, label: bool) -> Counter:
    return Counter((t.strip().casefold(), lab if label else None, neg) for t, lab, neg in items)


def _close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 0.01)


def constraints_equal(ex: EvalExample, got: Intent) -> bool:
    p = got.price
    gp = (p.min, p.max, p.relative, p.level) if p is not None else None
    if (gp is None) != (ex.price is None):
        return False
    if (
        gp is not None
        and ex.price is not None
        and not (
            _close(gp[0], ex.price[0]) and _close(gp[1], ex.price[1]) and gp[2:] == ex.price[2:]
        )
    ):
        return False
    refs = Counter((r.kind, r.index, r.negated) for r in got.references)
    return refs == Counter(ex.references) and got.clear_constraints == ex.clear_constraints


def previous_intent(slot_parser: EmbeddedIntentParser, ex: EvalExample) -> Intent | None:
    """The previous turn's intent as the pipeline would hold it (rules + labelled type)."""
    if ex.previous_message is None:
        return None
    s = slot_parser.extract_slots(ex.previous_message)
    return Intent(
        type=ex.previous_type or IntentType.RECOMMEND,
        mentions=s.mentions,
        preferences=s.preferences,
        price=s.price,
        references=s.references,
        clear_constraints=s.clear_constraints,
    )


def evaluate(
    parser: IntentParser, examples: list[EvalExample], slot_parser: EmbeddedIntentParser
) -> EvalReport:
    """Parse every example (timing each ``parse`` call) and score it."""
    rep = EvalReport()
    for ex in examples:
        prev = previous_intent(slot_parser, ex)
        t0 = time.perf_counter()
        got = parser.parse(ex.message, previous=prev)
        rep.latencies_ms.append((time.perf_counter() - t0) * 1000)
        rep.n += 1
        rep.backends[got.backend] += 1
        if got.type == ex.type:
            rep.correct_type += 1
            rep.backend_correct[got.backend] += 1
        else:
            rep.errors.append((ex.id, f"type {got.type} != {ex.type}"))
        pred = [(m.text, m.label_hint, m.negated) for m in got.mentions]
        pred += [(f"{p.kind}={p.value}", "Preference", p.negated) for p in got.preferences]
        gold = list(ex.mentions)
        gold += [(f"{k}={v}", "Preference", neg) for k, v, neg in ex.preferences]
        for lab in (True, False):
            g, p = _mention_keys(gold, label=lab), _mention_keys(pred, label=lab)
            tp = sum((g & p).values())
            fp, fn = sum(p.values()) - tp, sum(g.values()) - tp
            if lab:
                rep.tp, rep.fp, rep.fn = rep.tp + tp, rep.fp + fp, rep.fn + fn
                if fp or fn:
                    rep.errors.append((ex.id, f"mentions {sorted(p - g)} missing {sorted(g - p)}"))
            else:
                rep.tp_text, rep.fp_text, rep.fn_text = (
                    rep.tp_text + tp,
                    rep.fp_text + fp,
                    rep.fn_text + fn,
                )
        if constraints_equal(ex, got):
            rep.constraints_ok += 1
        else:
            rep.errors.append(
                (ex.id, f"constraints got {got.price} {got.references} {got.clear_constraints}")
            )
    return rep


__all__ = ["EvalReport", "constraints_equal", "evaluate", "previous_intent"]
