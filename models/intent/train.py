"""Build the intent head: ``python -m models.intent.train [--out PATH] [--split train|all]
[--encoder contextual|static] [--layers N]``.

Embeds the labelled utterances with the packaged MiniLM (``contextual``, the default: a
forward of its first ``--layers`` layers, 3 unless told, as the shipped head; ``static``: the
mean of its static token table's vectors, as the linker's), adds the rule cues, picks the L2
strength and cue scale by 5-fold cross-validation on the chosen split, fits on all of it and
writes the head as JSON (~25 KB). Deterministic: folds by example id, seeded init, so the
defaults rebuild the shipped head. A static head costs no transformer forward per message but
names the type of conversational chat worse (the 2026-12-05 entries of ``bench/RESULTS.md``
on choosing the intent encoder), so it is not the shipped one.
"""

from __future__ import annotations

import argparse
import logging
import zlib
from pathlib import Path

import numpy as np

from models.intent._encoder import MessageEncoder, SentenceEncoder, StaticSentenceEncoder
from models.intent._features import FEATURE_NAMES
from models.intent.classifier import ENCODER_KINDS, IntentClassifier
from models.intent.config import IntentConfig
from models.intent.dataset import EvalExample, load_eval_set, load_lexicon
from models.intent.embedded import HEAD_PATH, EmbeddedIntentParser
from models.intent.evaluation import previous_intent

logger = logging.getLogger(__name__)

L2_GRID = (1e-4, 3e-4, 1e-3, 3e-3)
SCALE_GRID = (0.5, 1.0, 2.0)
#: the shipped head's encoder depth: the first 3 of MiniLM's 6 layers
LAYERS = 3


def build_inputs(
    parser: EmbeddedIntentParser, examples: list[EvalExample]
) -> tuple[np.ndarray, np.ndarray]:
    """``(N, E)`` embeddings and ``(N, F)`` rule features, as ``parse`` computes them."""
    emb = np.concatenate(
        [
            parser.encoder.encode_batch([e.message.strip() for e in examples[k : k + 64]])
            for k in range(0, len(examples), 64)
        ]
    )
    feats = np.stack(
        [
            parser.features(e.message, parser.extract_slots(e.message), previous_intent(parser, e))
            for e in examples
        ]
    )
    return emb, feats


def cross_validate(
    emb: np.ndarray, feats: np.ndarray, examples: list[EvalExample], *, folds: int = 5
) -> tuple[float, float, float]:
    """Best ``(l2, feature_scale, cv_accuracy)`` over the grids."""
    fold = np.array([zlib.crc32(e.id.encode()) % folds for e in examples])
    labels = [e.type for e in examples]
    best = (L2_GRID[0], SCALE_GRID[0], -1.0)
    for l2 in L2_GRID:
        for scale in SCALE_GRID:
            correct = 0
            for f in range(folds):
                tr, te = fold != f, fold == f
                clf = IntentClassifier.fit(
                    emb[tr],
                    feats[tr],
                    [lab for lab, m in zip(labels, tr, strict=True) if m],
                    feature_names=FEATURE_NAMES,
                    l2=l2,
                    feature_scale=scale,
                    max_iter=200,
                )
                for k in np.flatnonzero(te):
                    correct += clf.predict(emb[k], feats[k])[0] == labels[k]
            acc = correct / len(examples)
            logger.info("l2=%g scale=%g cv accuracy %.3f", l2, scale, acc)
            if acc > best[2]:
                best = (l2, scale, acc)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--eval-set", default=None, help="labelled JSONL (default: packaged)")
    ap.add_argument("--lexicon", default=None, help="lexicon JSON (default: packaged)")
    ap.add_argument("--split", default="train", choices=("train", "all"))
    ap.add_argument("--out", default=str(HEAD_PATH))
    ap.add_argument("--encoder", default="contextual", choices=ENCODER_KINDS)
    ap.add_argument(
        "--layers", type=int, default=None, help=f"contextual: encoder layers kept ({LAYERS})"
    )
    args = ap.parse_args(argv)
    if args.layers is not None and args.encoder != "contextual":
        ap.error("--layers needs --encoder contextual")
    if args.encoder == "contextual" and args.layers is None:
        args.layers = LAYERS
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import torch

    torch.set_num_threads(1)
    examples = load_eval_set(args.eval_set, split=None if args.split == "all" else args.split)
    encoder: MessageEncoder = (
        StaticSentenceEncoder()
        if args.encoder == "static"
        else SentenceEncoder.get(layers=args.layers, cache_size=0)
    )
    parser = EmbeddedIntentParser(IntentConfig(), load_lexicon(args.lexicon), encoder=encoder)
    emb, feats = build_inputs(parser, examples)
    l2, scale, cv = cross_validate(emb, feats, examples)
    clf = IntentClassifier.fit(
        emb,
        feats,
        [e.type for e in examples],
        feature_names=FEATURE_NAMES,
        l2=l2,
        feature_scale=scale,
        encoder="all-MiniLM-L6-v2",
        encoder_layers=args.layers,
        encoder_kind=args.encoder,
    )
    clf.save(args.out)
    print(
        f"trained on {len(examples)} {args.split} examples, {args.encoder} encoder"
        + (f" ({args.layers} layers)" if args.encoder == "contextual" else "")
        + f": l2={l2:g} feature_scale={scale:g},"
        f" 5-fold cv accuracy {cv:.3f}; wrote {Path(args.out)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
