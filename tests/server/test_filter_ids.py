"""Unknown category ids in a request's filters: a bounded INVALID_ARGUMENT message that names
them, suggests the id meant and shows what real ids look like."""

from __future__ import annotations

import pytest

from kg.types import LexiconEntry
from kgrec.errors import InvalidInputError
from server.filter_ids import FIELD, MAX_ID_CHARS, MAX_LISTED, check_category_ids

ENTITIES = {
    e.entity_id: e
    for e in (
        LexiconEntry("cat:shoes", "Category", "Shoes", "shoes"),
        LexiconEntry("cat:running-shoes", "Category", "Running shoes", "running shoes"),
        LexiconEntry("cat:mugs", "Category", "Mugs", "mugs"),
        LexiconEntry("brand:nike", "Brand", "Nike", "nike"),
    )
}


def _problem(ids: list[str]) -> str:
    with pytest.raises(InvalidInputError) as exc:
        check_category_ids(ids, ENTITIES)
    assert exc.value.field == FIELD
    return exc.value.message


@pytest.mark.parametrize("ids", [[], ["cat:shoes"], ["cat:running-shoes", "cat:mugs"]])
def test_known_ids_pass(ids: list[str]) -> None:
    check_category_ids(ids, ENTITIES)


def test_no_known_categories_checks_nothing() -> None:
    check_category_ids(["anything"], {})
    check_category_ids(["anything"], {"brand:nike": ENTITIES["brand:nike"]})


def test_wrong_prefix_names_the_id_and_the_one_meant() -> None:
    problem = _problem(["cat:shoes", "category:shoes"])
    assert problem.startswith("unknown category id 'category:shoes' (did you mean 'cat:shoes'?)")
    assert "'cat:mugs', 'cat:running-shoes', 'cat:shoes'" in problem  # what real ids look like


@pytest.mark.parametrize(
    ("given", "meant"),
    [("category:Running shoes", "cat:running-shoes"), ("Running_Shoes", "cat:running-shoes")],
)
def test_a_name_instead_of_an_id_suggests_the_id(given: str, meant: str) -> None:
    assert f"(did you mean {meant!r}?)" in _problem([given])


def test_another_label_is_not_a_category() -> None:
    problem = _problem(["brand:nike"])
    assert "'brand:nike'" in problem and "did you mean" not in problem


def test_message_is_bounded_however_many_and_long_the_ids() -> None:
    ids = [f"x{i}:" + "y" * 250 for i in range(1000)]
    problem = _problem(ids)
    assert f"and {1000 - MAX_LISTED} more" in problem
    assert problem.count("…") == MAX_LISTED
    assert len(problem) < MAX_LISTED * (MAX_ID_CHARS + 4) + 200
