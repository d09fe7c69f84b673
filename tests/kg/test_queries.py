"""Exact Cypher of the query builders, and the schema allow-lists."""

from __future__ import annotations

import pytest

from kg import dialect, queries, schema, types
from kg.types import CandidateQuery
from kgrec.domain import PriceRange
from kgrec.errors import InvalidInputError


def test_unfiltered_candidates_is_one_label_scan() -> None:
    query, params = queries.candidates(CandidateQuery(limit=7))
    assert query == (
        "MATCH (p:Product)\n"
        "WITH p, [] AS matched\n"
        "ORDER BY size(matched) DESC, p.popularity DESC, p.id ASC\n"
        "LIMIT $limit\n"
        "RETURN p.id AS id, p.popularity AS popularity, matched"
    )
    assert params == {"limit": 7}


def test_filtered_candidates() -> None:
    q = CandidateQuery(
        price=PriceRange(max=100),
        category_ids=("cat:shoes",),
        exclude_brand_ids=("brand:nike",),
        required_attribute_ids=("attr:color=red",),
        limit=5,
    )
    query, params = queries.candidates(q)
    assert query == (
        "MATCH (p:Product)\n"
        "WHERE p.price <= $price_max\n"
        "  AND ANY(x IN p.category_ids WHERE x IN $category_ids)\n"
        "  AND NONE(x IN coalesce(p.brand_ids, []) WHERE x IN $exclude_brand_ids)\n"
        "  AND ALL(x IN $required_attribute_ids WHERE x IN p.attribute_ids)\n"
        "WITH p, [] AS matched\n"
        "ORDER BY size(matched) DESC, p.popularity DESC, p.id ASC\n"
        "LIMIT $limit\n"
        "RETURN p.id AS id, p.popularity AS popularity, matched"
    )
    assert params == {
        "limit": 5,
        "price_max": 100.0,
        "category_ids": ["cat:shoes"],
        "exclude_brand_ids": ["brand:nike"],
        "required_attribute_ids": ["attr:color=red"],
    }


@pytest.mark.parametrize(
    ("query", "start_ids", "prop"),
    [
        (CandidateQuery(category_ids=("c1", "c2"), brand_ids=("b",)), ["c1", "c2"], "category_ids"),
        (
            CandidateQuery(brand_ids=("b1", "b2"), exclude_item_ids=("p",)),
            ["b1", "b2"],
            "brand_ids",
        ),
        (CandidateQuery(required_attribute_ids=("a1", "a2")), ["a1"], "attribute_ids"),
    ],
)
def test_candidates_start_from_an_indexed_filter(
    query: CandidateQuery, start_ids: list[str], prop: str
) -> None:
    """With list indexes, the first inclusion filter picks the products to start from (any id
    of an any-of filter; one id of the all-of attributes); every condition is still checked."""
    text, params = queries.candidates(query, from_index=True)
    assert text.startswith(
        "UNWIND $start_ids AS start_id\nMATCH (p:Product)\n"
        f"WHERE start_id IN p.{prop}\nWITH DISTINCT p\nWHERE "
    )
    assert params["start_ids"] == start_ids
    assert text.split("WITH DISTINCT p\n")[1] == queries.candidates(query)[0].split("\n", 1)[1]


def test_candidates_without_inclusion_filters_scan_even_with_list_indexes() -> None:
    q = CandidateQuery(price=PriceRange(max=10), exclude_brand_ids=("b",), limit=4)
    assert queries.candidates(q, from_index=True) == queries.candidates(q)


def test_a_scan_may_start_above_a_popularity_floor() -> None:
    q = CandidateQuery(exclude_brand_ids=("b",), limit=4)
    query, params = queries.candidates(q, from_index=True, popularity_floor=7)
    assert query.startswith(
        "MATCH (p:Product)\nWHERE p.popularity >= $popularity_floor\n"
        "  AND NONE(x IN coalesce(p.brand_ids, []) WHERE x IN $exclude_brand_ids)\n"
    )
    assert params["popularity_floor"] == 7.0 and queries.scans_products(q, True)
    indexed = CandidateQuery(category_ids=("c",))  # starts from the index: no floor
    assert not queries.scans_products(indexed, True) and queries.scans_products(indexed)
    assert queries.candidates(indexed, True, 7) == queries.candidates(indexed, True)


def test_paths_one_trip_looks_each_edge_up_from_its_start_node() -> None:
    """Each edge between bound nodes is one directed lookup in a clause of its own: the
    shapes FalkorDB answers from the start node's outgoing edges (bench/RESULTS.md, paths at
    1M products), never an undirected or two-hop pattern between bound nodes."""
    query, params = queries.paths_one_trip(["brand:a"], ["prod:1"], 2)
    parts = query.split("\nUNION ALL\n")
    assert len(parts) == 4
    edges = [
        [ln for ln in part.splitlines() if ln.startswith("MATCH (") and "{" not in ln]
        for part in parts
    ]
    assert edges == [
        ["MATCH (s)-[r1]->(i)"],
        ["MATCH (i)-[r1]->(s)"],
        ["MATCH (i)-[r2]->(m1)", "MATCH (s)-[r1]->(m1)"],
        ["MATCH (i)-[r2]->(m1)", "MATCH (m1)-[r1]->(s)"],
    ]
    assert "WHERE NONE(l IN labels(m1) WHERE l IN $private_labels)" in parts[2]
    # the sources and the items are found once, before the branches (a CALL subquery)
    assert query.count("OPTIONAL MATCH (n0:`Product` {id: x})") == 1
    assert query.count("MATCH (i:Product {id: iid})") == 1
    assert query.index("MATCH (i:Product {id: iid})\nCALL {\nWITH sources, ip, i\n") > 0
    assert all(part.startswith("WITH sources, ip, i\n") for part in parts[1:])
    assert query.endswith("}\nRETURN hops, source_pos, item_pos, item_id, nodes, rels, starts")
    assert "path" not in query
    assert "User" not in query and "Session" not in query
    assert params == {
        "item_ids": ["prod:1"],
        "source_ids": ["brand:a"],
        "private_labels": ["User", "Session"],
    }
    assert queries.paths_one_trip(["a"], ["b"], 1)[0].count("UNION ALL") == 1
    with pytest.raises(InvalidInputError):
        queries.paths_one_trip(["a"], ["b"], queries.ONE_TRIP_MAX_HOPS + 1)


def test_paths_one_trip_enters_an_item_only_by_imported_relations() -> None:
    """A two-hop path's edge into the item is looked up by the imported types only (never a
    shopper's INTERACTED, which grows with the item's popularity), from the bound item."""
    query, _ = queries.paths_one_trip(["brand:a"], ["prod:1"], 2, ("B_REL", "A_REL"))
    parts = query.split("\nUNION ALL\n")
    assert len(parts) == 6
    for part in parts[4:]:
        assert "WITH sources, ip, i\nMATCH (i)<-[r2:`B_REL`|`A_REL`]-(m1)\n" in part
        assert "WHERE NONE(l IN labels(m1) WHERE l IN $private_labels)" in part
    assert "INTERACTED" not in query
    for bad in ("INTERACTED", "HAS_BRAND", "a`]-() DETACH DELETE (i) //", "lower"):
        with pytest.raises(InvalidInputError):
            queries.paths_one_trip(["a"], ["b"], 2, (bad,))
    types = ["INTERACTED", "HAS_BRAND", "SUBCATEGORY_OF", "B_REL", "A_REL", "B_REL", "x`y"]
    assert queries.into_item_types(types) == ("A_REL", "B_REL")


def test_preferred_candidates_start_from_the_preferred_nodes() -> None:
    query, params = queries.preferred_candidates(
        CandidateQuery(preferred_ids=("brand:a",), limit=3)
    )
    assert query.startswith(
        "UNWIND $preferred_ids AS x\n"
        "OPTIONAL MATCH (n0:`Product` {id: x})\n"
        "OPTIONAL MATCH (n1:`Brand` {id: x})\n"
    )
    assert (
        "WITH coalesce(n0, n1, n2, n3, n4) AS n WHERE n IS NOT NULL\nMATCH (n)-[]-(p:Product)\n"
        in query
    )
    assert params == {"limit": 3, "preferred_ids": ["brand:a"]}


def test_paths_fixed_length_pattern() -> None:
    query, params = queries.paths(["brand:a"], ["prod:1"], hops=2, limit=9)
    assert "MATCH path = (s)-[]-(m1)-[]-(i)\n" in query
    # no stranger (User) or conversation (Session) on a path a shopper sees; labels as a parameter
    assert (
        "WHERE NONE(n IN nodes(path) WHERE ANY(l IN labels(n) WHERE l IN $private_labels))\n"
        in query
    )
    assert "User" not in query and "Session" not in query
    assert query.endswith(
        "       [r IN relationships(path) | type(r)] AS rels,\n"
        "       [r IN relationships(path) | startNode(r).id] AS starts\nLIMIT $limit"
    )
    assert params == {
        "item_ids": ["prod:1"],
        "source_ids": ["brand:a"],
        "limit": 9,
        "private_labels": ["User", "Session"],
    }
    with pytest.raises(InvalidInputError):
        queries.paths(["a"], ["b"], hops=queries.MAX_PATH_HOPS + 1, limit=1)


def test_link_and_triples_builders() -> None:
    rows = [{"id": "p1", "targets": ["brand:a"]}]
    assert queries.link("Product", "HAS_BRAND", "Brand", rows) == (
        "UNWIND $rows AS r\n"
        "MATCH (s:`Product` {id: r.id})\n"
        "UNWIND r.targets AS tid\n"
        "MATCH (t:`Brand` {id: tid})\n"
        "MERGE (s)-[:`HAS_BRAND`]->(t)",
        {"rows": rows},
    )
    query, params = queries.add_triples("film.directed_by", [{"head": "a", "tail": "b"}])
    assert query.endswith("MERGE (h)-[:`FILM_DIRECTED_BY`]->(t)")
    assert params == {"rows": [{"head": "a", "tail": "b"}]}
    with pytest.raises(InvalidInputError):
        queries.link("Product", "FILM_DIRECTED_BY", "Brand", [])  # not a core type
    with pytest.raises(InvalidInputError):
        queries.link("Product`) DETACH DELETE (x", "HAS_BRAND", "Brand", [])


def test_dialect_ddl() -> None:
    assert dialect.FALKORDB.unique_id("Product") == ["CREATE INDEX FOR (n:`Product`) ON (n.id)"]
    assert dialect.falkordb_unique_constraint("g", "Brand") == [
        "GRAPH.CONSTRAINT", "CREATE", "g", "UNIQUE", "NODE", "Brand", "PROPERTIES", 1, "id",
    ]  # fmt: skip
    assert dialect.NEO4J.unique_id("Brand") == [
        "CREATE CONSTRAINT kgrec_unique_brand_id IF NOT EXISTS "
        "FOR (n:`Brand`) REQUIRE n.id IS UNIQUE"
    ]
    assert dialect.FALKORDB.fulltext_create("Brand") == (
        "CALL db.idx.fulltext.createNodeIndex($label, $field0)",
        {"label": "Brand", "field0": "search_text"},
    )
    assert dialect.NEO4J.fulltext_create("Brand") == (
        "CREATE FULLTEXT INDEX kgrec_fulltext_brand IF NOT EXISTS FOR (n:`Brand`) "
        "ON EACH [n.`search_text`]",
        {},
    )
    assert dialect.FALKORDB.vector_create(384) == (
        "CREATE VECTOR INDEX FOR (p:Product) ON (p.embedding) "
        "OPTIONS {dimension: 384, similarityFunction: 'cosine'}"
    )
    assert dialect.NEO4J.edge_index("INTERACTED", "event_id") == (
        "CREATE INDEX kgrec_rel_interacted_event_id IF NOT EXISTS "
        "FOR ()-[e:`INTERACTED`]-() ON (e.`event_id`)"
    )


def test_fulltext_query_text_is_a_parameter() -> None:
    query, params = dialect.FALKORDB.fulltext_query("Brand", "nike air", 5)
    assert query == (
        "CALL db.idx.fulltext.queryNodes($label, $query) YIELD node, score\n"
        "RETURN node.id AS id, "
        "coalesce(node.title, node.value, node.name, node.id) AS name, score\n"
        "ORDER BY score DESC, id ASC\n"
        "LIMIT $k"
    )
    assert params == {"label": "Brand", "query": "nike air", "k": 5}
    _, params = dialect.NEO4J.fulltext_query("Brand", "nike OR air", 5)
    assert params == {"index": "kgrec_fulltext_brand", "query": "nike AND or AND air", "k": 5}


@pytest.mark.parametrize(
    ("text", "redisearch", "lucene"),
    [
        ("Red Shoes", "red shoes", "red AND shoes"),
        ("@title:*|-~", "title", "title"),
        ("') DETACH DELETE n //", "detach delete n", "detach AND delete AND n"),
        ("size 10-12", "size 10 12", "size AND 10 AND 12"),
        ("", "", ""),
        ("Café Über", "cafe uber", "cafe AND uber"),  # folded like the indexed text
        ("Ｎｉｋｅ", "nike", "nike"),
    ],
)
def test_fulltext_text_becomes_plain_words(text: str, redisearch: str, lucene: str) -> None:
    assert dialect.redisearch_query(text) == redisearch
    assert dialect.lucene_query(text) == lucene


def test_escapes() -> None:
    assert dialect.escape_redisearch("a@b:c d") == "a\\@b\\:c\\ d"
    assert dialect.escape_lucene('a+b:"c"') == 'a\\+b\\:\\"c\\"'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("film.film.directed_by", "FILM_FILM_DIRECTED_BY"),
        ("directedBy", "DIRECTEDBY"),
        ("  has--genre  ", "HAS_GENRE"),
        ("/film/film/genre", "FILM_FILM_GENRE"),
        ("x" * 64, "X" * 64),
    ],
)
def test_relation_type_normalises(name: str, expected: str) -> None:
    assert schema.relation_type(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        "",
        "...",
        "9lives",
        "x" * 65,
        "has_brand",
        "IN_CATEGORY",
        "interacted",
        "é",
        "a`b` DELETE",
        3,
    ],
)
def test_relation_type_rejects(name: object) -> None:
    if isinstance(name, str) and name == "a`b` DELETE":
        assert schema.relation_type(name) == "A_B_DELETE"  # backticks cannot survive
        return
    with pytest.raises(InvalidInputError) as err:
        schema.relation_type(name)  # type: ignore[arg-type]
    assert err.value.field == "relation"


@pytest.mark.parametrize(
    "name", ["Product", "Brand", "Category", "Attribute", "User", "Entity", "Session"]
)
def test_label_accepts_allow_list(name: str) -> None:
    assert schema.label(name) == name


@pytest.mark.parametrize(
    "name", ["product", "Thing", "Product`) DETACH DELETE n //", "", "Product:Brand"]
)
def test_label_rejects(name: str) -> None:
    with pytest.raises(InvalidInputError, match="valid: Product, Brand"):
        schema.label(name)


#: One call of every builder of kg.queries (a new builder must be added here).
BUILDER_CALLS = {
    "add_triples": ("film.x", [{"head": "a", "tail": "b"}]),
    "candidates": (CandidateQuery(limit=3),),
    "export_nodes": ("Product", 0, 10),
    "export_relationships": ("HAS_BRAND", 0, 10),
    "import_nodes": ("User", []),
    "import_relationships": ("User", "INTERACTED", "Product", True, []),
    "lexicon": ("Brand",),
    "link": ("Product", "HAS_BRAND", "Brand", []),
    "missing_ids": ("Entity", ["e1"]),
    "paths": (["a"], ["b"], 2, 5),
    "paths_one_trip": (["a"], ["b"], 2, ("A_REL",)),
    "preferred_candidates": (CandidateQuery(preferred_ids=("a",), limit=3),),
    "unlink_stale": ("Product", "HAS_BRAND", "Brand", []),
    "verify_core_endpoints": ("HAS_BRAND", "Product", "Brand"),
    "verify_repeated_aliases": ("Brand",),
    "verify_shared_surfaces": ("Attribute",),
}


def test_every_builder_returns_query_and_params() -> None:
    builders = {
        name
        for name in queries.__all__
        if callable(getattr(queries, name))
        and not isinstance(getattr(queries, name), type)
        and name[0].islower()
        and name != "popularity_params"  # parameters only, for several constants
        and name != "scans_products"  # a predicate on a CandidateQuery, not a builder
        and name != "into_item_types"  # picks relationship types, builds no query
    }
    assert builders == set(BUILDER_CALLS)
    for name, args in BUILDER_CALLS.items():
        query, params = getattr(queries, name)(*args)
        assert isinstance(query, str) and isinstance(params, dict), name
        assert "RETURN" in query or "MERGE" in query or "DELETE" in query, name


def test_all_is_sorted_and_complete() -> None:
    assert queries.__all__ == sorted(queries.__all__)
    assert all(hasattr(queries, name) for name in queries.__all__)


def _returned_columns(query: str) -> tuple[str, ...]:
    """The aliases of a query's last RETURN clause (commas inside brackets do not split)."""
    clause = query[query.rindex("RETURN ") + len("RETURN ") :]
    clause = clause.split("\nORDER BY")[0].split("\nLIMIT")[0]
    items, depth, current = [], 0, ""
    for ch in clause:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    items.append(current)
    return tuple(item.strip().rpartition(" AS ")[2] for item in items)


@pytest.mark.parametrize(
    ("query", "columns"),
    [
        (queries.PRODUCTS, types.PRODUCT_COLUMNS),
        (queries.CREATE_SESSION, types.SESSION_COLUMNS),
        (queries.GET_SESSION, types.SESSION_COLUMNS),
        (queries.USER_EVENTS, types.STORED_EVENT_COLUMNS),
        (queries.USER_DATA_COUNTS, types.USER_DATA_COLUMNS),
        (queries.candidates(CandidateQuery())[0], types.CANDIDATE_COLUMNS),
        (queries.preferred_candidates(CandidateQuery(preferred_ids=("a",)))[0],
         types.CANDIDATE_COLUMNS),
        (queries.paths(["a"], ["b"], 3, 1)[0], types.PATH_COLUMNS),
        (queries.paths_one_trip(["a"], ["b"], 1)[0], types.PATH_TRIP_COLUMNS),
        (queries.paths_one_trip(["a"], ["b"], 2)[0].split("\nUNION ALL\n")[0],
         types.PATH_TRIP_COLUMNS),
        (queries.candidates(CandidateQuery(brand_ids=("b",)), from_index=True)[0],
         types.CANDIDATE_COLUMNS),
    ],
)  # fmt: skip
def test_record_queries_return_the_columns_of_their_record(
    query: str, columns: tuple[str, ...]
) -> None:
    assert _returned_columns(query) == columns


def test_products_and_sessions_return_exactly_as_before() -> None:
    assert queries.PRODUCTS.endswith(
        "RETURN p.id AS id, p.title AS title, p.description AS description, p.price AS price,\n"
        "       p.currency AS currency, p.image_ref AS image_ref, p.popularity AS popularity,\n"
        "       brand, category, attributes"
    )
    assert queries.GET_SESSION == (
        "MATCH (s:Session {id: $session_id})\n"
        "RETURN s.id AS id, s.user_id AS user_id, s.created_at AS created_at, "
        "s.updated_at AS updated_at, s.state AS state, coalesce(s.version, 0) AS version"
    )
    assert queries.USER_EVENTS == (
        "MATCH (u:User {id: $user_id})-[e:INTERACTED]->(p:Product)\n"
        "RETURN e.event_id AS event_id, u.id AS user_id, p.id AS item_id, e.type AS type,\n"
        "       e.value AS value, e.ts AS ts\n"
        "ORDER BY e.ts DESC, e.event_id DESC\n"
        "LIMIT $limit"
    )


def test_any_product_stops_at_the_first() -> None:
    assert queries.ANY_PRODUCT == "MATCH (p:Product) RETURN p.id LIMIT 1"
