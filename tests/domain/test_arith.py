"""The safe arithmetic of the math action: Python's precedence, references, clear errors, and bounds that keep a
hostile expression from eating the CPU or the stack."""

from __future__ import annotations

from typing import Any

import pytest

from tracardi.domain import refs
from tracardi.domain.arith import ArithError, evaluate, parse
from tracardi.domain.dotpath import MISSING

VALUES: dict[str, Any] = {"a": 3, "b": "4.5", "c": True, "d": "x", "page-view": 2}


def _read(ref: refs.Ref) -> Any:
    return VALUES.get(ref.path, MISSING)


def calc(text: str) -> float:
    return evaluate(parse(text), _read)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("-2 ** 2", -4),
        ("2 ** 3 ** 2", 512),
        ("2 ** -1", 0.5),
        ("7 % 4 - 10 / 4", 0.5),
        ("payload@a * 2", 6),
        ("`payload@b` + 1", 5.5),
        ("`payload@page-view` * 10", 20),
        ("round(10 / 3, 2)", 3.33),
        ("max(1, payload@a, 2) + min(4, 5) + abs(-1) + floor(1.7) + ceil(1.2)", 11),
        ("1e3 + .5", 1000.5),
        ("- - 3", 3),
    ],
)
def test_expressions_follow_python_precedence(text: str, value: float) -> None:
    assert calc(text) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1 +", "at 3"),
        ("(1 + 2", "expected ')'"),
        ("1 2", "unexpected '2' at 2"),
        ("__import__('os')", "unexpected"),
        ("foo(1)", "unknown function 'foo'"),
        ("abs(1, 2)", "takes 1 to 1"),
        ("nobody@x + 1", "unknown entity"),
        ("1 ; 2", "unexpected ';' at 2"),
        ("", "1 to 1000"),
        ("1+" * 600 + "1", "1 to 1000"),
        ("(" * 60 + "1" + ")" * 60, "levels of nesting"),
        ("-" * 60 + "1", "levels of nesting"),
        ("2**" * 60 + "1", "levels of nesting"),
    ],
)
def test_malformed_expressions_are_refused_with_the_position(text: str, words: str) -> None:
    with pytest.raises(ArithError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1 / 0", "division by zero"),
        ("1 % (2 - 2)", "modulo by zero"),
        ("0 ** -1", "zero to a negative power"),
        ("2 ** 5000", "exponent"),
        ("(2 ** 1000) ** 1000", "too large"),
        ("(2 ** 1000) * (2 ** 1000)", "too large"),
        ("10.0 ** 400", "too large"),
        ("payload@missing + 1", "does not exist"),
        ("payload@c + 1", "boolean"),
        ("payload@d + 1", "not a number"),
    ],
)
def test_evaluation_failures_name_the_cause(text: str, words: str) -> None:
    with pytest.raises(ArithError, match=words):
        calc(text)
