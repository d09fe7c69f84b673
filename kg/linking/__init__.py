"""Entity linking: mentions in a message → nodes of the knowledge graph (or NIL).

``EntityLinker(store.lexicon(...), store=store, encoder=MiniLMNameEncoder())`` then
``linker.link("nkie running shoes", label_hint="Brand")``.
"""

from ._text import normalize
from .entity_linker import EntityLinker
from .link_candidate import LinkCandidate
from .linker_config import LinkerConfig
from .minilm_name_encoder import MiniLMNameEncoder
from .name_encoder import NameEncoder
from .static_minilm_encoder import StaticMiniLMEncoder

__all__ = [
    "EntityLinker",
    "LinkCandidate",
    "LinkerConfig",
    "MiniLMNameEncoder",
    "NameEncoder",
    "StaticMiniLMEncoder",
    "normalize",
]
