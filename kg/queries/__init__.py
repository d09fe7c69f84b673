"""All Cypher of the graph store, shared by the FalkorDB and Neo4j backends, by domain:

* :mod:`.load` -- bulk upserts, links, triples and the denormalised filter properties;
* :mod:`.read` -- product records, candidates, paths, co-interactions, lexicon, stats;
* :mod:`.session` -- sessions, feedback events, forgetting a user;
* :mod:`.admin` -- import existence checks, the JSONL export/import, ``verify`` checks.

Constants are complete queries; builders return ``(query, params)``. Every value travels as a
``$parameter``; the only names spliced into query text are labels and relationship types that
passed :mod:`kg.schema`'s allow-lists, and they are backtick-quoted. Record queries build
their RETURN clause from the column tuples of :mod:`kg.types` that the store reads rows by.
What differs between the databases (index DDL, fulltext and vector procedures) lives in
:mod:`kg.dialect`.
"""

from __future__ import annotations

from ._names import (
    DISPLAY_NAME,
    Params,
    Query,
)
from .admin import (
    EXPORT_LABELS,
    EXPORT_REL_TYPES,
    MISSING_TRIPLE_ENDPOINTS,
    VERIFY_IMPORTED_ENDPOINTS,
    VERIFY_NODES_WITHOUT_ID,
    VERIFY_ORPHAN_ENTITIES,
    VERIFY_PRODUCTS_WITHOUT_CATEGORY,
    VERIFY_UNKNOWN_LABELS,
    export_nodes,
    export_relationships,
    import_nodes,
    import_relationships,
    missing_ids,
    verify_core_endpoints,
    verify_repeated_aliases,
    verify_shared_surfaces,
)
from .load import (
    ADD_INTERACTIONS,
    REFRESH_ALL_FILTER_PROPS,
    REFRESH_CATEGORY_ANCESTORS,
    REFRESH_FILTER_PROPS,
    REFRESH_POPULARITY,
    REFRESH_SUBTREE_ANCESTORS,
    REFRESH_SUBTREE_FILTER_PROPS,
    UPSERT_ATTRIBUTES,
    UPSERT_BRANDS,
    UPSERT_CATEGORIES,
    UPSERT_ENTITIES,
    UPSERT_PRODUCTS,
    UPSERT_USERS,
    add_triples,
    link,
    popularity_params,
    unlink_stale,
)
from .read import (
    ANY_PRODUCT,
    CO_INTERACTION_COUNTS,
    COUNT_NODES_BY_LABEL,
    COUNT_RELATIONSHIPS_BY_TYPE,
    MAX_PATH_HOPS,
    PATH_SOURCE_LABELS,
    PING,
    PRIVATE_LABELS,
    PRODUCT_DEGREES,
    PRODUCTS,
    candidates,
    lexicon,
    paths,
    preferred_candidates,
)
from .session import (
    CREATE_SESSION,
    DELETE_USER,
    DELETE_USER_EVENTS,
    DELETE_USER_SESSIONS,
    GET_SESSION,
    PURGE_SESSIONS,
    RECORD_EVENT,
    RECORD_EVENT_UNKEYED,
    SAVE_SESSION_STATE,
    SAVE_SESSION_STATE_IF_VERSION,
    USER_DATA_COUNTS,
    USER_EVENTS,
)

__all__ = [
    "ADD_INTERACTIONS",
    "ANY_PRODUCT",
    "COUNT_NODES_BY_LABEL",
    "COUNT_RELATIONSHIPS_BY_TYPE",
    "CO_INTERACTION_COUNTS",
    "CREATE_SESSION",
    "DELETE_USER",
    "DELETE_USER_EVENTS",
    "DELETE_USER_SESSIONS",
    "DISPLAY_NAME",
    "EXPORT_LABELS",
    "EXPORT_REL_TYPES",
    "GET_SESSION",
    "MAX_PATH_HOPS",
    "MISSING_TRIPLE_ENDPOINTS",
    "PATH_SOURCE_LABELS",
    "PING",
    "PRIVATE_LABELS",
    "PRODUCTS",
    "PRODUCT_DEGREES",
    "PURGE_SESSIONS",
    "Params",
    "Query",
    "RECORD_EVENT",
    "RECORD_EVENT_UNKEYED",
    "REFRESH_ALL_FILTER_PROPS",
    "REFRESH_CATEGORY_ANCESTORS",
    "REFRESH_FILTER_PROPS",
    "REFRESH_POPULARITY",
    "REFRESH_SUBTREE_ANCESTORS",
    "REFRESH_SUBTREE_FILTER_PROPS",
    "SAVE_SESSION_STATE",
    "SAVE_SESSION_STATE_IF_VERSION",
    "UPSERT_ATTRIBUTES",
    "UPSERT_BRANDS",
    "UPSERT_CATEGORIES",
    "UPSERT_ENTITIES",
    "UPSERT_PRODUCTS",
    "UPSERT_USERS",
    "USER_DATA_COUNTS",
    "USER_EVENTS",
    "VERIFY_IMPORTED_ENDPOINTS",
    "VERIFY_NODES_WITHOUT_ID",
    "VERIFY_ORPHAN_ENTITIES",
    "VERIFY_PRODUCTS_WITHOUT_CATEGORY",
    "VERIFY_UNKNOWN_LABELS",
    "add_triples",
    "candidates",
    "export_nodes",
    "export_relationships",
    "import_nodes",
    "import_relationships",
    "lexicon",
    "link",
    "missing_ids",
    "paths",
    "popularity_params",
    "preferred_candidates",
    "unlink_stale",
    "verify_core_endpoints",
    "verify_repeated_aliases",
    "verify_shared_surfaces",
]
