"""Dot-path access into Structs and dicts."""

from __future__ import annotations

import pytest

from tracardi.domain import dotpath
from tracardi.domain.profile import Profile


def test_get_walks_structs_dicts_and_lists() -> None:
    p = Profile(id="p", traits={"a": {"b": [10, 20]}})
    assert dotpath.get(p, "traits.a.b.1") == 20
    assert dotpath.get(p, "stats.visits") == 0
    assert dotpath.get(p, "traits.nope") is dotpath.MISSING
    assert dotpath.get(p, "no_such_field") is dotpath.MISSING


def test_set_creates_dicts_and_refuses_unknown_struct_fields() -> None:
    p = Profile(id="p")
    dotpath.set(p, "traits.x.y", 1)
    dotpath.set(p, "data.contact.email.main", "a@b.c")
    assert p.traits == {"x": {"y": 1}} and p.data.contact.email.main == "a@b.c"
    with pytest.raises(TypeError):
        dotpath.set(p, "nope", 1)
    with pytest.raises(ValueError, match="invalid dot path"):
        dotpath.get(p, "a..b")
