"""The default, offline intent parser: a linear head over a MiniLM vector for the type, rules
for slots.

Per message: tokenize (offsets kept) → lexicon and name-like spans
(:class:`~models.intent.span_extractor.SpanExtractor`) → references ("the second one",
"another brand") → soft wishes ("for my dad", "a gift", "for swimming", "for winter") →
negation scope over all three → price rules → intent type from
:class:`~models.intent.classifier.IntentClassifier` over the message's vector and rule cues.
The vector is what the head was trained on (:class:`~models.intent.classifier.IntentClassifier`'s
``encoder_kind``): the shipped head's is a MiniLM forward per new message (``contextual``); a
``static`` head's is the static MiniLM token table's mean, a tokenizer call and no forward.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from kg.types import LexiconEntry, lexicon_fingerprint
from kgrec.domain import IntentType
from kgrec.errors import ConfigError
from kgrec.startup_cache import load_or_build
from models.intent._encoder import MessageEncoder, SentenceEncoder, StaticSentenceEncoder
from models.intent._features import FEATURE_NAMES, rule_features
from models.intent._negation import negated_spans, negation_triggers, wants_clear
from models.intent._preferences import find_preferences, unique
from models.intent._price import parse_price
from models.intent._references import find_references
from models.intent._text import Token, tokenize
from models.intent.classifier import IntentClassifier
from models.intent.config import DATA_DIR, IntentConfig
from models.intent.intent import (
    Intent,
    IntentParser,
    Mention,
    Preference,
    PriceConstraint,
    Reference,
)
from models.intent.span_extractor import SpanExtractor

logger = logging.getLogger(__name__)

HEAD_PATH = DATA_DIR / "intent_head.json"


@dataclass(frozen=True, slots=True)
class Slots:
    """Everything the rules find in a message (all but the intent type)."""

    tokens: tuple[Token, ...]
    mentions: tuple[Mention, ...]
    references: tuple[Reference, ...]
    price: PriceConstraint | None
    clear_constraints: bool
    preferences: tuple[Preference, ...] = ()


class EmbeddedIntentParser(IntentParser):
    """MiniLM-vector intent classifier plus KG-grounded rules; no network, no GPU.

    Args:
        config: ``encoder_path`` (None: the packaged all-MiniLM-L6-v2), ``head_path``
            (None: ``data/intent_head.json``), ``max_tokens``, ``embedding_cache``,
            ``cache_dir`` (the span index kept for the next start; :mod:`kgrec.startup_cache`).
        lexicon: names/aliases of graph nodes for span grounding.
        classifier, encoder: injected instances (tests); loaded lazily otherwise.
    """

    name = "embedded"

    def __init__(
        self,
        config: IntentConfig | None = None,
        lexicon: Sequence[LexiconEntry] = (),
        *,
        classifier: IntentClassifier | None = None,
        encoder: MessageEncoder | None = None,
    ) -> None:
        self.config = config or IntentConfig()
        self.extractor = load_or_build(  # a restart over the same lexicon loads it (~20x)
            self.config.cache_dir,
            "span-extractor",
            (lexicon_fingerprint(lexicon),),
            lambda: SpanExtractor(lexicon),
            sources=("models.intent", "kg.types"),  # its entries are kg.types objects
        )
        self._classifier = classifier
        self._encoder = encoder
        self._load_lock = threading.Lock()
        self._checked = False

    # -----------------------------------------------------------------------------------------

    @property
    def classifier(self) -> IntentClassifier:
        if self._classifier is None:
            with self._load_lock:
                if self._classifier is None:
                    self._classifier = IntentClassifier.load(self.config.head_path or HEAD_PATH)
        return self._classifier

    @property
    def encoder(self) -> MessageEncoder:
        """The encoder the head was trained on (loads the head first)."""
        if self._encoder is None:
            classifier = self.classifier
            with self._load_lock:
                if self._encoder is None:
                    self._encoder = self._encoder_for(self.config, classifier)
        return self._encoder

    @staticmethod
    def _encoder_for(config: IntentConfig, classifier: IntentClassifier) -> MessageEncoder:
        if classifier.encoder_kind == "static":
            if config.encoder_layers is not None:
                raise ConfigError(
                    "encoder_layers applies to a contextual intent head; "
                    "this head reads the static token table"
                )
            return StaticSentenceEncoder(config.encoder_path)
        layers = config.encoder_layers
        if layers is None:
            layers = classifier.encoder_layers
        return SentenceEncoder.get(
            config.encoder_path,
            max_tokens=config.max_tokens,
            cache_size=config.embedding_cache,
            layers=layers,
            device=config.device,
            batching=config.batching,
        )

    @staticmethod
    def preload(config: IntentConfig) -> None:
        """Load the encoder a parser with ``config`` will use (e.g. in a thread while the
        graph DB starts): a contextual head's MiniLM goes into the process-wide
        :meth:`SentenceEncoder.get` cache, a static head's table is the process's shared one.
        The parser's first message then finds it loaded, or waits for the load in progress."""
        head = IntentClassifier.load(config.head_path or HEAD_PATH)
        EmbeddedIntentParser._encoder_for(config, head)

    def _check(self, classifier: IntentClassifier, encoder: MessageEncoder) -> None:
        want = classifier.weight.shape[1] - len(classifier.feature_names)
        if want != encoder.dim:
            raise ConfigError(
                f"intent head expects {want}-d embeddings; "
                f"encoder {encoder.path} gives {encoder.dim}"
            )
        if classifier.encoder_kind != encoder.kind:
            raise ConfigError(
                f"intent head was trained on {classifier.encoder_kind} vectors, "
                f"the encoder {encoder.path} gives {encoder.kind} ones"
            )
        if classifier.encoder_layers is not None and classifier.encoder_layers != encoder.layers:
            raise ConfigError(
                f"intent head was trained on {classifier.encoder_layers} encoder layers, "
                f"the encoder has {encoder.layers}; rebuild it with `python -m models.intent.train`"
            )
        if tuple(classifier.feature_names) != FEATURE_NAMES:
            raise ConfigError("intent head features differ from this code's; rebuild the head")
        self._checked = True

    def warm_up(self) -> None:
        """Load the encoder and head now instead of on the first message."""
        self.parse("show me red running shoes under 100")

    # -----------------------------------------------------------------------------------------

    def extract_slots(self, message: str) -> Slots:
        """Mentions, references, price and "start over" by rules alone."""
        tokens = tokenize(message)
        mspans = self.extractor.extract(message, tokens)
        rspans = find_references(tokens)
        mspans = [m for m in mspans if not any(m.i < r.j and r.i < m.j for r in rspans)]
        ranges = [(m.i, m.j) for m in mspans] + [(r.i, r.j) for r in rspans]
        claimed = {k for i, j in ranges for k in range(i, j)}
        pspans = find_preferences(message, tokens, claimed)
        # a season word is a soft wish even where the lexicon has it ("warm" -> cozy)
        seasons = [p for p in pspans if p.pref.kind == "season"]
        mspans = [m for m in mspans if not any(m.i < p.j and p.i < m.j for p in seasons)]
        spans = [(m.i, m.j) for m in mspans] + [(r.i, r.j) for r in rspans]
        spans += [(p.i, p.j) for p in pspans]
        kinds = ["mention"] * len(mspans) + ["reference"] * len(rspans)
        kinds += ["preference"] * len(pspans)
        neg = negated_spans(tokens, spans, negation_triggers(tokens), kinds)
        mentions = tuple(
            replace(m.mention, negated=True) if k in neg else m.mention
            for k, m in enumerate(mspans)
        )
        refs = []
        has_product = any(m.mention.label_hint == "Product" for m in mspans)
        for k, r in enumerate(rspans):
            if r.ref.kind == "similar" and r.ref.index is None and has_product:
                continue  # "Interstellar, any similar films?": similar to the title, not a result
            negated = (len(mspans) + k) in neg
            ref = r.ref
            if ref.kind == "that_brand" and not negated:
                ref = Reference("same_brand")  # "more from that brand"
            refs.append(replace(ref, negated=negated))
        first_pref = len(mspans) + len(rspans)
        preferences = unique(
            [
                replace(p.pref, negated=True) if first_pref + k in neg else p.pref
                for k, p in enumerate(pspans)
            ]
        )
        in_mentions = {k for m in mspans for k in range(m.i, m.j)}
        price = parse_price(tokens, skip=in_mentions)
        if (
            price is not None
            and price.relative is not None
            and sum(r.kind in ("ordinal", "last") for r in refs) >= 2
        ):
            # "which is cheaper, number 2 or number 3?" compares results, asks for no change
            absolute = price.min is not None or price.max is not None
            price = replace(price, relative=None) if absolute else None
        return Slots(
            tokens=tuple(tokens),
            mentions=mentions,
            references=tuple(refs),
            price=price,
            clear_constraints=wants_clear(tokens),
            preferences=preferences,
        )

    def features(self, message: str, slots: Slots, previous: Intent | None):
        return rule_features(
            message,
            list(slots.tokens),
            slots.mentions,
            slots.references,
            slots.price,
            slots.clear_constraints,
            previous,
            slots.preferences,
        )

    def parse(self, message: str, *, previous: Intent | None = None) -> Intent:
        text = message.strip()
        if not text:
            return Intent(type=IntentType.OTHER, confidence=1.0, backend=self.name)
        slots = self.extract_slots(message)
        classifier = self.classifier
        encoder = self.encoder  # the one the head names
        if not self._checked:
            self._check(classifier, encoder)
        emb = encoder.encode(text)
        kind, conf = classifier.predict(emb, self.features(message, slots, previous))
        return Intent(
            type=kind,
            mentions=slots.mentions,
            price=slots.price,
            references=slots.references,
            confidence=conf,
            backend=self.name,
            clear_constraints=slots.clear_constraints,
            preferences=slots.preferences,
        )


__all__ = ["HEAD_PATH", "EmbeddedIntentParser", "Slots"]
