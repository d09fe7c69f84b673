"""The one table of what differs between FalkorDB and Neo4j Cypher.

Everything else (loaders, candidates, paths, sessions, feedback) is shared in
:mod:`kg.queries`. Names reaching these builders come from :mod:`kg.schema`'s allow-lists;
values are ``$parameters``.

* unique ``id`` -- FalkorDB: a range index, then ``GRAPH.CONSTRAINT CREATE`` (a command,
  built asynchronously); Neo4j: ``CREATE CONSTRAINT ... IF NOT EXISTS``.
* edge property index -- ``CREATE INDEX FOR ()-[e:T]-() ON (e.p)`` (Neo4j: named,
  ``IF NOT EXISTS``).
* fulltext create -- FalkorDB: ``db.idx.fulltext.createNodeIndex(label, field, ...)``;
  Neo4j: ``CREATE FULLTEXT INDEX name IF NOT EXISTS FOR (n:L) ON EACH [...]``.
* fulltext query -- FalkorDB: ``db.idx.fulltext.queryNodes(label, $q)``, RediSearch syntax;
  Neo4j: ``db.index.fulltext.queryNodes(name, $q)``, Lucene syntax. Either way the user's
  text is reduced to plain words and escaped, so it is matched literally.
* vector create/query -- FalkorDB: ``CREATE VECTOR INDEX ... OPTIONS {dimension,
  similarityFunction}`` and ``db.idx.vector.queryNodes(label, attr, k, vecf32($v))``;
  Neo4j: ``CREATE VECTOR INDEX ... OPTIONS {indexConfig}`` and ``db.index.vector.queryNodes``.
* "already exists" -- FalkorDB has no ``IF NOT EXISTS``: repeated DDL fails with a message the
  store recognises (:attr:`Dialect.already_exists`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import schema
from .queries import DISPLAY_NAME

Params = dict[str, Any]

# Characters RediSearch's default tokenizer splits on (and its query parser treats as syntax).
_REDISEARCH_SPECIAL = set(",.<>{}[]\"':;!@#$%^&*()-+=~|/\\`?")
_LUCENE_SPECIAL = set('+-&|!(){}[]^"~*?:\\/')
_LUCENE_KEYWORDS = {"AND", "OR", "NOT", "TO"}
_WORD = re.compile(r"\w+", re.UNICODE)


#: At most this many words of the user's text reach the fulltext query.
MAX_QUERY_WORDS = 32


def words(text: str) -> list[str]:
    """The user's text as plain, folded words (letters, digits, ``_``): no operators survive."""
    return _WORD.findall(schema.fold(text or ""))[:MAX_QUERY_WORDS]


def escape_redisearch(text: str) -> str:
    """Escape every RediSearch query-syntax character of ``text`` with a backslash."""
    return "".join(f"\\{ch}" if ch in _REDISEARCH_SPECIAL or ch.isspace() else ch for ch in text)


def escape_lucene(text: str) -> str:
    """Escape every Lucene query-syntax character of ``text`` with a backslash."""
    return "".join(f"\\{ch}" if ch in _LUCENE_SPECIAL else ch for ch in text)


def redisearch_query(text: str) -> str:
    """A RediSearch query matching all words of ``text`` literally ("" if it has none)."""
    return " ".join(escape_redisearch(w) for w in words(text))


def lucene_query(text: str) -> str:
    """A Lucene query matching all words of ``text`` literally ("" if it has none)."""
    terms = [w.lower() if w.upper() in _LUCENE_KEYWORDS else escape_lucene(w) for w in words(text)]
    return " AND ".join(terms)


def _fulltext_return(k_param: str = "k") -> str:
    name = DISPLAY_NAME.format(v="node")
    return (
        f"RETURN node.id AS id, {name} AS name, score\n"
        f"ORDER BY score DESC, id ASC\nLIMIT ${k_param}"
    )


def _name(kind: str, label: str, prop: str = "") -> str:
    return "_".join(x for x in ("kgrec", kind, label.lower(), prop.lower()) if x)


# -- FalkorDB ---------------------------------------------------------------------------------


def _falkor_unique_id(label: str) -> list[str]:
    return [f"CREATE INDEX FOR (n:`{schema.label(label)}`) ON (n.id)"]


def _falkor_edge_index(rel: str, prop: str) -> str:
    return f"CREATE INDEX FOR ()-[e:`{rel}`]-() ON (e.`{prop}`)"


def _falkor_node_index(label: str, prop: str) -> str:
    return f"CREATE INDEX FOR (n:`{schema.label(label)}`) ON (n.`{prop}`)"


def _falkor_fulltext_create(label: str) -> tuple[str, Params]:
    fields = schema.FULLTEXT_FIELDS[schema.named_label(label)]
    params: Params = {"label": label}
    args = ["$label"]
    for i, f in enumerate(fields):
        params[f"field{i}"] = f
        args.append(f"$field{i}")
    return f"CALL db.idx.fulltext.createNodeIndex({', '.join(args)})", params


def _falkor_fulltext_query(label: str, text: str, k: int) -> tuple[str, Params]:
    query = (
        "CALL db.idx.fulltext.queryNodes($label, $query) YIELD node, score\n" + _fulltext_return()
    )
    return query, {"label": schema.named_label(label), "query": redisearch_query(text), "k": int(k)}


def _falkor_vector_create(dim: int) -> str:
    return (
        "CREATE VECTOR INDEX FOR (p:Product) ON (p.embedding) "
        f"OPTIONS {{dimension: {int(dim)}, similarityFunction: 'cosine'}}"
    )


def _falkor_vector_set() -> str:
    return "UNWIND $rows AS r\nMATCH (p:Product {id: r.id})\nSET p.embedding = vecf32(r.embedding)"


def _falkor_vector_query(vector: list[float], k: int) -> tuple[str, Params]:
    query = (
        "CALL db.idx.vector.queryNodes('Product', 'embedding', $k, vecf32($vector))"
        " YIELD node, score\nRETURN node.id AS id, score\nORDER BY score ASC"
    )
    return query, {"k": int(k), "vector": [float(x) for x in vector]}


#: Columns: type, label, properties, entity type, status (PENDING | OPERATIONAL | FAILED).
FALKORDB_LIST_CONSTRAINTS = "CALL db.constraints()"


def falkordb_unique_constraint(graph: str, label: str) -> list[str | int]:
    """The ``GRAPH.CONSTRAINT`` command (not Cypher) for a unique ``id`` on ``label``."""
    return [
        "GRAPH.CONSTRAINT",
        "CREATE",
        graph,
        "UNIQUE",
        "NODE",
        schema.label(label),
        "PROPERTIES",
        1,
        "id",
    ]


# -- Neo4j ------------------------------------------------------------------------------------


def _neo4j_unique_id(label: str) -> list[str]:
    lab = schema.label(label)
    return [
        f"CREATE CONSTRAINT {_name('unique', lab, 'id')} IF NOT EXISTS "
        f"FOR (n:`{lab}`) REQUIRE n.id IS UNIQUE"
    ]


def _neo4j_edge_index(rel: str, prop: str) -> str:
    return (
        f"CREATE INDEX {_name('rel', rel, prop)} IF NOT EXISTS "
        f"FOR ()-[e:`{rel}`]-() ON (e.`{prop}`)"
    )


def _neo4j_node_index(label: str, prop: str) -> str:
    lab = schema.label(label)
    return f"CREATE INDEX {_name('node', lab, prop)} IF NOT EXISTS FOR (n:`{lab}`) ON (n.`{prop}`)"


def _neo4j_fulltext_create(label: str) -> tuple[str, Params]:
    lab = schema.named_label(label)
    props = ", ".join(f"n.`{f}`" for f in schema.FULLTEXT_FIELDS[lab])
    return (
        f"CREATE FULLTEXT INDEX {_name('fulltext', lab)} IF NOT EXISTS "
        f"FOR (n:`{lab}`) ON EACH [{props}]",
        {},
    )


def _neo4j_fulltext_query(label: str, text: str, k: int) -> tuple[str, Params]:
    query = (
        "CALL db.index.fulltext.queryNodes($index, $query) YIELD node, score\n" + _fulltext_return()
    )
    index = _name("fulltext", schema.named_label(label))
    return query, {"index": index, "query": lucene_query(text), "k": int(k)}


def _neo4j_vector_create(dim: int) -> str:
    return (
        f"CREATE VECTOR INDEX {_name('vector', 'product', 'embedding')} IF NOT EXISTS "
        "FOR (p:Product) ON (p.embedding) OPTIONS {indexConfig: "
        f"{{`vector.dimensions`: {int(dim)}, `vector.similarity_function`: 'cosine'}}}}"
    )


def _neo4j_vector_set() -> str:
    return "UNWIND $rows AS r\nMATCH (p:Product {id: r.id})\nSET p.embedding = r.embedding"


def _neo4j_vector_query(vector: list[float], k: int) -> tuple[str, Params]:
    query = (
        f"CALL db.index.vector.queryNodes('{_name('vector', 'product', 'embedding')}', $k, $vector)"
        " YIELD node, score\nRETURN node.id AS id, 2.0 * (1.0 - score) AS score\nORDER BY score ASC"
    )
    return query, {"k": int(k), "vector": [float(x) for x in vector]}


#: Neo4j clean-up (drop_all): nodes in batches, then our own schema objects by name.
NEO4J_DELETE_BATCH = """MATCH (n)
WITH n LIMIT $batch
DETACH DELETE n
RETURN count(*) AS deleted"""
NEO4J_LIST_CONSTRAINTS = """SHOW CONSTRAINTS YIELD name
WHERE name STARTS WITH 'kgrec_'
RETURN name"""
#: Index creation returns at once and populates in the background; queries need them online.
NEO4J_AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"
#: Indexes that back a constraint go with it, so they are not listed.
NEO4J_LIST_INDEXES = """SHOW INDEXES YIELD name, owningConstraint
WHERE name STARTS WITH 'kgrec_' AND owningConstraint IS NULL
RETURN name"""
_SCHEMA_NAME = re.compile(r"kgrec_[a-z0-9_]{1,100}")


def neo4j_drop(kind: str, name: str) -> str:
    """``DROP INDEX|CONSTRAINT name IF EXISTS`` for one of our own (``kgrec_*``) names."""
    if kind not in ("INDEX", "CONSTRAINT") or not _SCHEMA_NAME.fullmatch(name):
        raise ValueError(f"refusing to drop {kind} {name!r}")
    return f"DROP {kind} {name} IF EXISTS"


@dataclass(frozen=True, slots=True)
class Dialect:
    """What one database needs differently.

    Vector queries return cosine *distances* (``1 - cos``, 0 = same direction): FalkorDB's
    score already is one; Neo4j's is the similarity ``(1 + cos) / 2``, converted.
    """

    name: str
    unique_id: Callable[[str], list[str]]
    edge_index: Callable[[str, str], str]
    node_index: Callable[[str, str], str]
    fulltext_create: Callable[[str], tuple[str, Params]]
    fulltext_query: Callable[[str, str, int], tuple[str, Params]]
    vector_create: Callable[[int], str]
    vector_set: Callable[[], str]
    vector_query: Callable[[list[float], int], tuple[str, Params]]
    #: Substrings of the error a repeated DDL statement raises (FalkorDB has no IF NOT EXISTS).
    already_exists: tuple[str, ...] = ()
    #: Does a range index on a list property answer ``x IN n.list``? (FalkorDB: yes, so a
    #: candidate query starts from one filter id; Neo4j: no, one label scan is cheaper.)
    indexes_list_elements: bool = False


FALKORDB = Dialect(
    name="falkordb",
    unique_id=_falkor_unique_id,
    edge_index=_falkor_edge_index,
    node_index=_falkor_node_index,
    fulltext_create=_falkor_fulltext_create,
    fulltext_query=_falkor_fulltext_query,
    vector_create=_falkor_vector_create,
    vector_set=_falkor_vector_set,
    vector_query=_falkor_vector_query,
    already_exists=("already indexed", "already exists"),
    indexes_list_elements=True,
)

NEO4J = Dialect(
    name="neo4j",
    unique_id=_neo4j_unique_id,
    edge_index=_neo4j_edge_index,
    node_index=_neo4j_node_index,
    fulltext_create=_neo4j_fulltext_create,
    fulltext_query=_neo4j_fulltext_query,
    vector_create=_neo4j_vector_create,
    vector_set=_neo4j_vector_set,
    vector_query=_neo4j_vector_query,
)

DIALECTS: dict[str, Dialect] = {d.name: d for d in (FALKORDB, NEO4J)}

#: Edge properties both backends index (idempotency look-ups, event de-duplication).
EDGE_INDEXES: tuple[tuple[str, str], ...] = (
    (schema.INTERACTED, "idempotency_key"),
    (schema.INTERACTED, "event_id"),
)

__all__ = [
    "DIALECTS",
    "EDGE_INDEXES",
    "FALKORDB",
    "FALKORDB_LIST_CONSTRAINTS",
    "NEO4J",
    "NEO4J_AWAIT_INDEXES",
    "NEO4J_DELETE_BATCH",
    "NEO4J_LIST_CONSTRAINTS",
    "NEO4J_LIST_INDEXES",
    "Dialect",
    "escape_lucene",
    "escape_redisearch",
    "falkordb_unique_constraint",
    "lucene_query",
    "neo4j_drop",
    "redisearch_query",
    "words",
]
