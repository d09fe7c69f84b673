"""The serving process's cyclic-GC set-up (``server.serve.settle_heap``)."""

from __future__ import annotations

import gc

from server.serve import GC_YOUNG_THRESHOLD, settle_heap


def test_start_up_objects_leave_the_gc_and_the_young_generation_grows() -> None:
    before = gc.get_threshold()
    loaded = [[n] for n in range(1000)]  # containers the GC tracks, as a model's are
    try:
        settle_heap()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() >= len(loaded)
        tracked = {id(o) for o in gc.get_objects()}  # the frozen are in no generation
        assert not any(id(row) in tracked for row in loaded)
        later = [0]
        assert gc.is_tracked(later) and id(later) in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
