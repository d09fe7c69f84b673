"""Entity linking: mentions in a message → nodes of the knowledge graph, or NIL.

::

    linker = EntityLinker(
        store.lexicon(("Brand", "Category", "Attribute")),
        store=store,  # optional: fulltext index as a signal
        encoder=StaticMiniLMEncoder(cache_dir=data_dir / "cache"),  # optional: embeddings
    )
    linker.link("nkie", label_hint="Brand")  # [LinkCandidate('brand:nike', ..., 'fuzzy')]
    linker.link("pizza")  # [] -- NIL

Signals, scores and the NIL threshold are documented on :class:`LinkerConfig`; the labelled
set and its scoring live in :mod:`kg.linking.evaluation` (``bench/linking_bench.py`` prints
the numbers).
"""

from ._text import normalize
from .entity_directory import EntityDirectory
from .entity_linker import EntityLinker
from .link_candidate import LinkCandidate
from .linker_config import LinkerConfig
from .minilm_name_encoder import MiniLMNameEncoder
from .name_encoder import NameEncoder
from .static_minilm_encoder import StaticMiniLMEncoder

__all__ = [
    "EntityDirectory",
    "EntityLinker",
    "LinkCandidate",
    "LinkerConfig",
    "MiniLMNameEncoder",
    "NameEncoder",
    "StaticMiniLMEncoder",
    "normalize",
]
