"""TQL: parsing (precedence, literals, errors that name the position and the token) and in-memory evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tracardi.domain.profile import Profile
from tracardi.domain.tql import MAX_LENGTH, TqlSyntaxError, evaluate, parse
from tracardi.domain.tql.ast import And, Between, Compare, Field, In, Not, Or, Value
from tracardi.domain.tql.parser import CACHED_LENGTH


def _profile() -> Profile:
    profile = Profile(
        id="p1",
        segments=["vip", "newsletter"],
        traits={"age": 30, "email": "ann@gmail.com", "seen": "2024-05-01T10:00:00Z", "tags": ["a", "b"], "ok": True},
    )
    profile.stats.visits = 5
    profile.metadata.time.insert = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    return profile


def _scope() -> dict[str, Any]:
    event = {"type": "purchase", "properties": {"price": 12.5, "sku": "X-1", "at": "2024-05-02T00:00:00+02:00"}}
    return {"profile": _profile(), "event": event, "session": None, "payload": {"n": 3}}


def holds(text: str, default: str = "profile") -> bool:
    return evaluate(parse(text), _scope(), default)


def test_precedence_is_not_then_and_then_or() -> None:
    a, b, c = (Compare("==", Field(None, name), Value(1)) for name in "abc")
    assert parse("a == 1 OR b == 1 AND c == 1") == Or((a, And((b, c))))
    assert parse("(a == 1 OR b == 1) AND c == 1") == And((Or((a, b)), c))
    assert parse("NOT a == 1 AND b == 1") == And((Not(a), b))
    assert parse("not (a == 1 and b == 1) or c == 1") == Or((Not(And((a, b))), c))
    assert parse("a == 1 AND (b == 1 AND c == 1)") == And((a, b, c))  # flattened


def test_keywords_are_case_insensitive_and_operators_have_aliases() -> None:
    assert parse("x between 1 and 2") == parse("x BETWEEN 1 AND 2") == Between(Field(None, "x"), 1, 2)
    assert parse("x = 1") == parse("x == 1")
    assert parse("x <> 1") == parse("x != 1")
    assert parse("x => 1") == parse("x >= 1")
    assert parse("x In (1, 2)") == parse("x IN [1, 2]") == parse("x == [1, 2]") == In(Field(None, "x"), (1, 2))
    assert parse("x != [1, 2]") == Not(In(Field(None, "x"), (1, 2)))
    assert parse("Profile@a IS NOT NULL") == parse("profile@a EXISTS")
    assert parse("x is null") == parse("x NOT EXISTS")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('x == "a\\"b"', 'a"b'),
        ("x == 'it\\'s'", "it's"),
        ('x == "tab\\tnew\\nline \\u00e9 \\ud83d\\ude00"', "tab\tnew\nline é 😀"),
        ("x == 'say \"hi\"'", 'say "hi"'),
        ("x == 42", 42),
        ("x == -1.5", -1.5),
        ("x == 2e3", 2000.0),
        ("x == 99999999999999999999", 1e20),
        ("x == TRUE", True),
        ("x == false", False),
        ("x == null", None),
        ("x == 2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("x == 2024-05-01T10:20:30.5Z", datetime(2024, 5, 1, 10, 20, 30, 500000, tzinfo=UTC)),
        ("x == 2024-05-01T10:20+02:00", datetime(2024, 5, 1, 10, 20, tzinfo=timezone(timedelta(hours=2)))),
        ("x == 2024-05-01T10:20", datetime(2024, 5, 1, 10, 20, tzinfo=UTC)),
        ('x == datetime("2024-05-01T10:20:00Z")', datetime(2024, 5, 1, 10, 20, tzinfo=UTC)),
    ],
)
def test_literals(text: str, value: Any) -> None:
    expr = parse(text)
    assert isinstance(expr, Compare)
    assert expr.right == Value(value)
    assert type(expr.right.value) is type(value)


def test_fields_name_an_entity_or_default_to_the_callers() -> None:
    assert parse("event@properties.price > 1").field == Field("event", "properties.price")  # type: ignore[union-attr]
    assert parse("traits.e-mail_2 EXISTS").field == Field(None, "traits.e-mail_2")  # type: ignore[union-attr]
    assert parse("a == profile@b").right == Field("profile", "b")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "position", "token", "message"),
    [
        ("a == 1 AND AND b == 2", 11, "AND", "unexpected 'AND' at 11"),
        ("a == ", 5, "", "unexpected end of input at 5"),
        ("a == 1 b", 7, "b", "unexpected 'b' at 7"),
        ("(a == 1", 7, "", "expected ')'"),
        ("a == 1)", 6, ")", "unexpected ')' at 6"),
        ("a ==== 1", 4, "==", "unexpected '==' at 4"),
        ("a 1", 2, "1", "expected an operator"),
        ("a NOT 1", 6, "1", "expected EXISTS"),
        ("a IS 5", 5, "5", "expected NULL"),
        ("a BETWEEN 1 OR 2", 12, "OR", "expected AND"),
        ("a IN 1", 5, "1", "expected a list"),
        ("a IN (1, b)", 9, "b", "expected a value"),
        ("a STARTS WITH 5", 14, "5", "STARTS WITH needs a string"),
        ("a CONTAINS null", 11, "null", "needs a value other than null"),
        ('a == "open', 5, '"open', "unterminated string starting at 5"),
        ('a == "\\q"', 6, "\\q", "unknown escape '\\\\q' at 6"),
        ('a == "\\ud800"', 5, "\\ud800", "lone surrogate"),
        ("a == 15m", 5, "15m", "unexpected '15m' at 5"),
        ("a == $x", 5, "$x", "unexpected '$x' at 5"),
        ("a == 1e999", 5, "1e999", "number out of range"),
        ("a == 2024-13-01", 5, "2024-13-01", "invalid date"),
        ("user@x == 1", 0, "user@x", "unknown entity 'user' at 0"),
        ("profile@ EXISTS", 0, "profile@", "invalid path"),
        ("a..b EXISTS", 0, "a..b", "invalid path"),
        ("AND", 0, "AND", "expected a field"),
        ("", 0, "", "unexpected end of input at 0"),
        ("true == 1", 0, "true", "expected a field"),
    ],
)
def test_syntax_errors_name_the_position_and_the_token(text: str, position: int, token: str, message: str) -> None:
    with pytest.raises(TqlSyntaxError) as caught:
        parse(text)
    assert (caught.value.position, caught.value.token) == (position, token)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_hostile_input_is_refused_with_a_clear_error_not_a_recursion_error() -> None:
    for text in ("(" * 4000 + "a EXISTS" + ")" * 4000, "NOT " * 2000 + "a EXISTS"):
        with pytest.raises(TqlSyntaxError, match="nested deeper than 32"):
            parse(text)
    with pytest.raises(TqlSyntaxError, match=f"the limit is {MAX_LENGTH}") as caught:
        parse("a == '" + "x" * MAX_LENGTH + "'")
    assert caught.value.position == MAX_LENGTH
    long_flat = " AND ".join(f"a{i} == {i}" for i in range(600))
    assert len(long_flat) <= MAX_LENGTH
    assert isinstance(parse(long_flat), And)
    with pytest.raises(TqlSyntaxError, match="unterminated"):
        parse('a == "' + "\\\\" * 4000)
    with pytest.raises(TqlSyntaxError, match="a condition is text"):
        parse(None)  # type: ignore[arg-type]


def test_parse_is_cached_up_to_a_length() -> None:
    assert parse("profile@stats.visits > 3") is parse("profile@stats.visits > 3")
    long = " OR ".join(f"traits.a{i} == {i}" for i in range(200))
    assert len(long) > CACHED_LENGTH
    assert parse(long) == parse(long)
    assert parse(long) is not parse(long)  # huge distinct conditions cannot fill memory
    assert evaluate(parse(long), {"profile": {"traits": {"a199": 199}}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('profile@stats.visits > 3 AND event@type == "purchase"', True),
        ("stats.visits >= 5 and stats.visits <= 5 and stats.visits < 6 and stats.visits != 4", True),
        ("event@properties.price BETWEEN 10 AND 12.5", True),
        ("event@properties.price BETWEEN 12.6 AND 100", False),
        ("payload@n IN (1, 2, 3)", True),
        ("payload@n NOT IN (1, 2)", True),
        # a list matches when any element does
        ('segments == "vip"', True),
        ('segments != "vip"', False),
        ('segments CONTAINS "vip"', True),
        ('segments CONTAINS "gold"', False),
        ('traits.tags IN ("x", "b")', True),
        ('segments STARTS WITH "news"', True),
        # strings
        ('traits.email CONTAINS "@gmail"', True),
        ('traits.email STARTS WITH "ann"', True),
        ('traits.email ENDS WITH "@gmail.com"', True),
        ('traits.email ENDS WITH "@yahoo.com"', False),
        ('traits.email > "a" AND traits.email < "b"', True),
        # missing paths: only NOT EXISTS, EMPTY, == null and != hold
        ("traits.missing EXISTS", False),
        ("traits.missing NOT EXISTS", True),
        ("traits.missing EMPTY", True),
        ("traits.missing == null", True),
        ("traits.missing != 1", True),
        ("traits.missing == 1", False),
        ("traits.missing > 1", False),
        ("traits.missing < 1", False),
        ('traits.missing CONTAINS "a"', False),
        ("traits.missing BETWEEN 0 AND 1", False),
        ("traits.email.deeper EXISTS", False),
        ("session@id EXISTS", False),
        ("flow@x NOT EXISTS", True),
        ("data.contact.email.main IS NULL", True),
        ("data.contact.email.main == null", True),
        ("traits.email NOT EMPTY", True),
        # incompatible types are false, never an error
        ('traits.age > "a"', False),
        ('traits.age == "30"', False),
        ("traits.email > 3", False),
        ("traits.ok == 1", False),
        ("traits.ok == true", True),
        ("traits.ok > false", False),
        ("traits.age == true", False),
        ("traits.age == 30.0", True),
        ('traits.age BETWEEN 1 AND "z"', False),
        ("traits.tags > 2024-01-01", False),
        # times: datetime fields and ISO strings both compare with date literals
        ("metadata.time.insert >= 2024-05-01 AND metadata.time.insert < 2024-05-02", True),
        ("metadata.time.insert == 2024-05-01T12:30:00Z", True),
        ("metadata.time.insert == 2024-05-01T14:30:00+02:00", True),
        ("traits.seen > 2024-05-01 AND traits.seen < 2024-05-01T10:00:01Z", True),
        ("event@properties.at < 2024-05-01T23:00:00Z", True),
        ("traits.email > 2024-01-01", False),
        ('metadata.time.insert STARTS WITH "2024-05-01T12"', True),
        ('metadata.time.insert > "2024-05-01T12:29"', True),
        # NOT, field to field
        ('traits.email NOT CONTAINS "@yahoo"', True),
        ("stats.visits NOT BETWEEN 1 AND 4", True),
        ('traits.email NOT STARTS WITH "ann"', False),
        ('traits.email not ends with "ann"', True),
        ("NOT traits.age == 30", False),
        ("NOT NOT traits.age == 30", True),
        ("NOT traits.missing == 1", True),
        ("stats.visits < traits.age", True),
        ("stats.visits == traits.missing", False),
        ("stats.visits != traits.missing", True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert holds(text) is expected


def test_a_bare_path_reads_the_default_entity() -> None:
    assert holds('type == "purchase"', default="event")
    assert not holds('type == "purchase"')
    assert holds("n == 3", default="payload")


def test_profile_as_a_dict_reads_like_the_struct() -> None:
    doc = {"stats": {"visits": 5}, "segments": ["vip"], "metadata": {"time": {"insert": "2024-05-01T12:30:00Z"}}}
    expr = parse('stats.visits > 3 AND segments CONTAINS "vip" AND metadata.time.insert > 2024-05-01')
    assert evaluate(expr, {"profile": doc})
    assert evaluate(expr, {"profile": _profile()})
    assert not evaluate(expr, {})


def test_private_attributes_are_not_fields() -> None:
    assert holds("__class__ NOT EXISTS")
    assert holds("stats.__struct_fields__ NOT EXISTS")
