"""The three-way merge that lets concurrent writes to one session all stay."""

from __future__ import annotations

import json

from server.session_merge import merge_objects, merge_states


def test_each_sides_changes_survive() -> None:
    base = {"turn": 1, "disliked": ["a"], "exclude_brands": [], "focus": None}
    mine = {"turn": 2, "disliked": ["a"], "exclude_brands": ["nike"], "focus": {"id": "x"}}
    theirs = {"turn": 1, "disliked": ["a", "b"], "exclude_brands": [], "focus": None}
    assert merge_objects(base, mine, theirs) == {
        "turn": 2,
        "disliked": ["a", "b"],
        "exclude_brands": ["nike"],
        "focus": {"id": "x"},
    }


def test_lists_both_changed_keep_both_additions_and_mine_removals() -> None:
    base = {"liked": ["a", "b"], "disliked": []}
    mine = {"liked": ["b", "c"], "disliked": ["a"]}  # a: liked -> disliked; c liked
    theirs = {"liked": ["a", "b", "d"], "disliked": ["e"]}
    got = merge_objects(base, mine, theirs)
    assert got == {"liked": ["b", "d", "c"], "disliked": ["e", "a"]}


def test_scalars_both_changed_the_later_writer_wins_and_unchanged_is_identity() -> None:
    base = {"max_price": None}
    assert merge_objects(base, {"max_price": 50}, {"max_price": 80}) == {"max_price": 50}
    state = {"turn": 3, "ranking": [{"id": "p1"}]}
    assert merge_objects(state, state, state) == state


def test_lists_of_objects_and_empty_states() -> None:
    base = {"ranking": [{"id": "p1"}]}
    mine = {"ranking": [{"id": "p2"}]}
    theirs = {"ranking": [{"id": "p1"}]}
    assert merge_objects(base, mine, theirs) == mine
    # a list of objects is one value: two turns' rankings are not mixed
    both = merge_objects(base, mine, {"ranking": [{"id": "p3"}]})
    assert both == mine
    assert json.loads(merge_states("", '{"turn":1}', "")) == {"turn": 1}
    assert json.loads(merge_states("", "", '{"turn":1}')) == {"turn": 1}
