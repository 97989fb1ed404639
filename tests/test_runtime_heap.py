"""The runtime settles the heap at start: start-up objects frozen, young collections less frequent."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tracardi.runtime import settle_heap


@pytest.fixture
def restore_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restore_gc")
def test_settle_heap_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    settle_heap(20_000)
    assert gc.get_freeze_count() > 1000
    assert gc.get_threshold()[0] == 20_000


@pytest.mark.usefixtures("restore_gc")
def test_a_zero_threshold_keeps_pythons_default() -> None:
    default = gc.get_threshold()
    settle_heap(0)
    assert gc.get_threshold() == default
