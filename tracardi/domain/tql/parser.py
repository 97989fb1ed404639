"""TQL text -> syntax tree, by recursive descent over the lexer's tokens.

Grammar (keywords case-insensitive; precedence NOT > AND > OR)::

    or      := and (OR and)*
    and     := not (AND not)*
    not     := NOT not | "(" or ")" | cond
    cond    := field (== | = | != | <> | > | >= | => | < | <= | =<) operand
             | field (== | !=) list                          # membership, as Tracardi reads `== [..]`
             | field [NOT] EXISTS | field [NOT] EMPTY | field IS [NOT] NULL
             | field [NOT] (CONTAINS | STARTS WITH | ENDS WITH) operand
             | field [NOT] BETWEEN literal AND literal
             | field [NOT] IN list
    list    := "(" literal ("," literal)* ")" | "[" literal ("," literal)* "]"
    operand := literal | field
    literal := string | number | TRUE | FALSE | NULL | ISO date/datetime | datetime("...") | date("...")
    field   := entity@dot.path | dot.path                     # a bare path is in the caller's default entity

Nesting (parentheses and NOT) is bounded by ``MAX_DEPTH``, the text by ``lexer.MAX_LENGTH``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any, Final, NoReturn

from tracardi.domain import refs
from tracardi.domain.tql.ast import (
    And,
    Between,
    Compare,
    Contains,
    Empty,
    EndsWith,
    Exists,
    Expr,
    Field,
    In,
    Not,
    Operand,
    Or,
    StartsWith,
    Value,
)
from tracardi.domain.tql.lexer import Token, TqlSyntaxError, describe, parse_time, tokenize

MAX_DEPTH: Final = 32
CACHED_LENGTH: Final = 2000
_CONSTANTS: Final = {"true": True, "false": False, "null": None, "none": None}
_KEYWORDS: Final = frozenset(
    {"and", "or", "not", "exists", "empty", "is", "contains", "starts", "ends", "with", "between", "in"}
)
_TIME_FUNCTIONS: Final = frozenset({"datetime", "date"})


def parse(text: str) -> Expr:
    """The syntax tree of a condition; TqlSyntaxError naming the position and the token otherwise.

    Conditions up to ``CACHED_LENGTH`` characters (every realistic one) are parsed once and cached; longer ones
    are parsed at each call, so that a stream of distinct huge conditions cannot fill memory.
    """
    if not isinstance(text, str):
        raise TqlSyntaxError(f"a condition is text, not {type(text).__name__}", 0, "")
    return _cached(text) if len(text) <= CACHED_LENGTH else _parse(text)


@lru_cache(maxsize=2048)
def _cached(text: str) -> Expr:
    return _parse(text)


def _parse(text: str) -> Expr:
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # token helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def keyword(self, ahead: int = 0) -> str:
        """The lower-cased keyword at the position, or ''."""
        token = self.peek(ahead)
        return token.value.lower() if token.kind == "word" and token.value.lower() in _KEYWORDS else ""

    def accept(self, word: str) -> bool:
        if self.keyword() == word:
            self.i += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            self.fail(f"expected {word.upper()}")

    def expect_kind(self, kind: str) -> Token:
        if self.peek().kind != kind:
            self.fail(f"expected {kind!r}")
        return self.next()

    def fail(self, expected: str, token: Token | None = None) -> NoReturn:
        token = token or self.peek()
        what = f"unexpected {describe(token.text)} at {token.pos}"
        raise TqlSyntaxError(f"{what}: {expected}", token.pos, token.text)

    # grammar

    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.peek().kind != "end":
            self.fail("expected AND, OR or the end of the condition")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.accept("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(_flatten(Or, items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.accept("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(_flatten(And, items))

    def not_expr(self) -> Expr:
        token = self.peek()
        if self.keyword() == "not" or token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise TqlSyntaxError(f"condition nested deeper than {MAX_DEPTH} at {token.pos}", token.pos, token.text)
            self.i += 1
            if token.kind == "(":
                expr = self.or_expr()
                self.expect_kind(")")
            else:
                expr = _negate(self.not_expr())
            self.depth -= 1
            return expr
        return self.condition()

    def condition(self) -> Expr:
        field = self.field()
        token = self.peek()
        if token.kind == "op":
            self.i += 1
            return self.comparison(token.value, field)
        negated = self.accept("not")
        expr = self.predicate(field, negated)
        return _negate(expr) if negated else expr

    def comparison(self, op: Any, field: Field) -> Expr:
        if op in ("==", "!=") and self.peek().kind in ("(", "["):
            values = In(field, self.literal_list())
            return values if op == "==" else Not(values)
        return Compare(op, field, self.operand())

    def predicate(self, field: Field, negated: bool) -> Expr:
        word = self.keyword()
        self.i += 1
        if word == "exists":
            return Exists(field)
        if word == "empty":
            return Empty(field)
        if word == "is" and not negated:
            null_negated = self.accept("not")
            if self.peek().kind != "word" or self.peek().value.lower() not in ("null", "none"):
                self.fail("expected NULL")
            self.i += 1
            return Exists(field) if null_negated else Not(Exists(field))
        if word == "contains":
            return Contains(field, self.text_operand("CONTAINS", strings_only=False))
        if word in ("starts", "ends"):
            self.expect("with")
            node = StartsWith if word == "starts" else EndsWith
            return node(field, self.text_operand(f"{word.upper()} WITH", strings_only=True))
        if word == "between":
            low = self.literal()
            self.expect("and")
            return Between(field, low, self.literal())
        if word == "in":
            return In(field, self.literal_list())
        self.i -= 1
        expected = "EXISTS, EMPTY, CONTAINS, STARTS WITH, ENDS WITH, BETWEEN or IN"
        self.fail(f"expected {expected}" if negated else f"expected an operator (==, !=, >, <, ..., IS, {expected})")

    def text_operand(self, operator: str, *, strings_only: bool) -> Operand:
        token = self.peek()
        operand = self.operand()
        if isinstance(operand, Value) and (
            operand.value is None or (strings_only and not isinstance(operand.value, str))
        ):
            self.fail(f"{operator} needs {'a string' if strings_only else 'a value other than null'}", token)
        return operand

    def field(self) -> Field:
        token = self.peek()
        if token.kind == "field" or (token.kind == "word" and not self.keyword() and not _constant(token)):
            self.i += 1
            return _field(token)
        self.fail("expected a field such as profile@traits.tier")

    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "field" or (
            token.kind == "word" and not self.keyword() and not _constant(token) and self.peek(1).kind != "("
        ):
            self.i += 1
            return _field(token)
        return Value(self.literal())

    def literal(self) -> Any:
        token = self.next()
        if token.kind in ("str", "num", "time"):
            return token.value
        if token.kind == "word" and _constant(token):
            return _CONSTANTS[token.value.lower()]
        if token.kind == "word" and token.value.lower() in _TIME_FUNCTIONS and self.peek().kind == "(":
            return self.time_call()
        self.fail("expected a value (a string, number, true, false, null or date)", token)

    def time_call(self) -> datetime:
        self.expect_kind("(")
        token = self.expect_kind("str")
        self.expect_kind(")")
        return parse_time(token.value, token.pos)

    def literal_list(self) -> tuple[Any, ...]:
        opening = self.next()
        if opening.kind not in ("(", "["):
            self.fail("expected a list such as (1, 2) or [1, 2]", opening)
        closing = ")" if opening.kind == "(" else "]"
        values = [self.literal()]
        while self.peek().kind == ",":
            self.i += 1
            values.append(self.literal())
        self.expect_kind(closing)
        return tuple(values)


def _constant(token: Token) -> bool:
    return token.kind == "word" and token.value.lower() in _CONSTANTS


def _field(token: Token) -> Field:
    text: str = token.value
    entity, at, path = text.partition("@")
    if not at:
        entity, path = "", entity
    if at and entity.lower() not in refs.ENTITIES:
        names = ", ".join(sorted(refs.ENTITIES))
        raise TqlSyntaxError(f"unknown entity {entity!r} at {token.pos}: use one of {names}", token.pos, text)
    if not path or "" in path.split("."):
        raise TqlSyntaxError(f"invalid path {text!r} at {token.pos}", token.pos, text)
    return Field(entity.lower() if at else None, path)


def _flatten(kind: type[And] | type[Or], items: list[Expr]) -> tuple[Expr, ...]:
    """``a AND (b AND c)`` as one And of three: shallower trees, cheaper evaluation."""
    flat: list[Expr] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(flat)


def _negate(expr: Expr) -> Expr:
    return expr.item if isinstance(expr, Not) else Not(expr)
