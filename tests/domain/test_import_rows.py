"""One import row: conversions, the mapping onto a nested dict, and the profile or event it builds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tracardi.domain.import_rows import RowProblem, build_event, build_profile, compile_mapping, convert, map_row
from tracardi.domain.imports import FieldMap

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (" 42 ", "int", 42),
        (3.0, "int", 3),
        ("2.5", "float", 2.5),
        ("Yes", "bool", True),
        ("off", "bool", False),
        ("2024-03-01T10:00:00Z", "datetime", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ("2024-03-01 10:00", "datetime", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        (1709287200000, "datetime", datetime(2024, 3, 1, 10, tzinfo=UTC)),
        ('{"a": [1]}', "json", {"a": [1]}),
        ("a, b,,c", "list", ["a", "b", "c"]),
        ({"a": 1}, "str", '{"a":1}'),
        ("x", "auto", "x"),
    ],
)
def test_conversions(value: Any, kind: Any, expected: Any) -> None:
    assert convert(value, kind) == expected


@pytest.mark.parametrize(
    ("value", "kind"),
    [("forty", "int"), (2.5, "int"), (True, "int"), ("nan", "float"), ("maybe", "bool"), ("soon", "datetime")],
)
def test_bad_values_are_refused(value: Any, kind: Any) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each conversion words its own message
        convert(value, kind)


def test_map_row_nests_skips_empty_values_and_names_the_column() -> None:
    mapping = compile_mapping(
        [
            FieldMap(source="a", target="traits.x.y", type="int"),
            FieldMap(source="b.c", target="traits.z"),
            FieldMap(source="empty", target="traits.e"),
        ]
    )
    assert map_row({"a": "1", "b": {"c": None}, "empty": ""}, mapping) == {"traits": {"x": {"y": 1}}}
    assert map_row({"b.c": "dotted column"}, mapping) == {"traits": {"z": "dotted column"}}
    with pytest.raises(RowProblem, match="a: cannot convert to int"):
        map_row({"a": "x"}, mapping)
    clash = compile_mapping([FieldMap(source="a", target="traits"), FieldMap(source="b", target="traits.x")])
    with pytest.raises(RowProblem, match="already set to a value"):
        map_row({"a": "scalar", "b": "1"}, clash)


def test_builders_fill_ids_times_and_names() -> None:
    profile = build_profile({"id": 12, "traits": {"a": 1}}, default_id="d", now=NOW)
    assert (profile.id, profile.ids, profile.metadata.time.insert) == ("12", ["12"], NOW)
    assert build_profile({}, default_id="derived", now=NOW).id == "derived"
    event = build_event({"type": " Add To Cart "}, default_id="E1", source_id="shop", now=NOW)
    assert (event.id, event.type, event.name, event.source.id) == ("e1", "add-to-cart", "Add To Cart", "shop")
    with pytest.raises(RowProblem, match="type: missing"):
        build_event({"properties": {}}, default_id="e", source_id="s", now=NOW)
    with pytest.raises(RowProblem, match=r"stats\.visits"):
        build_profile({"stats": {"visits": "many"}}, default_id="d", now=NOW)
