"""References with an entity prefix, as flows and conditions write them."""

from __future__ import annotations

from typing import Any

import pytest

from tracardi.domain import dotpath, refs
from tracardi.domain.profile import Profile


def test_parse_names_entity_and_path_and_defaults_to_payload() -> None:
    assert refs.parse_ref("profile@traits.tier") == refs.Ref("profile", "traits.tier")
    assert refs.parse_ref("a.b") == refs.Ref("payload", "a.b")
    assert refs.parse_ref("event@") == refs.Ref("event", "")
    with pytest.raises(ValueError, match="unknown entity 'user'"):
        refs.parse_ref("user@x")
    with pytest.raises(ValueError, match="invalid dot path"):
        refs.parse_ref("profile@a..b")


def test_read_write_delete_through_a_scope() -> None:
    scope: dict[str, Any] = {"profile": Profile(id="p"), "payload": {"x": 1}}
    refs.write(scope, refs.parse_ref("profile@traits.tier"), "gold")
    refs.write(scope, refs.parse_ref("memory@seen"), True)
    assert refs.read(scope, refs.parse_ref("profile@traits.tier")) == "gold"
    assert refs.read(scope, refs.parse_ref("x")) == 1
    assert refs.read(scope, refs.parse_ref("memory@seen")) is True
    assert refs.read(scope, refs.parse_ref("session@id")) is dotpath.MISSING
    assert refs.delete(scope, refs.parse_ref("profile@traits.tier")) is True
    assert refs.delete(scope, refs.parse_ref("profile@traits.tier")) is False
    assert scope["profile"].traits == {}
    with pytest.raises(TypeError, match="no session"):
        refs.write(scope, refs.parse_ref("session@context.a"), 1)


def test_delete_resets_struct_fields_and_removes_list_items() -> None:
    p = Profile(id="p", traits={"l": [1, 2, 3]})
    assert dotpath.delete(p, "traits.l.0") and p.traits["l"] == [2, 3]
    assert dotpath.delete(p, "data.contact.email.main") and p.data.contact.email.main is None
    assert not dotpath.delete(p, "traits.l.9")
