"""Safe arithmetic over references and numbers: ``(profile@stats.views + 1) * 2 / event@properties.count``.

Parsed once into a small tree (no ``eval``): numbers, references (``entity@path``; a path with other characters
goes in backticks: ```profile@stats.counters.page-view```), ``+ - * / % **``, parentheses and the functions
``abs min max round floor ceil``. Evaluation takes a resolver for the references, so it stays pure. Bounds: 1000
characters, 50 levels of nesting, exponents up to 1000 and results that fit a float.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracardi.domain import refs
from tracardi.domain.dotpath import MISSING

MAX_LENGTH = 1000
MAX_DEPTH = 50
MAX_EXPONENT = 1000
MAX_BITS = 1024
_TOKEN = re.compile(
    r"\s*(?:(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|(?P<ref>[a-z]+@[\w.]*)|`(?P<quoted>[^`]+)`"
    r"|(?P<name>[a-z]+)|(?P<op>\*\*|[-+*/%(),]))"
)


class ArithError(ValueError):
    """A malformed expression (with the position) or a failed evaluation (division by zero, a non-number)."""


Number = int | float
Resolver = Callable[[refs.Ref], Any]


@dataclass(frozen=True, slots=True)
class Num:
    value: Number


@dataclass(frozen=True, slots=True)
class RefNode:
    ref: refs.Ref


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Node


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]


Node = Num | RefNode | Neg | BinOp | Call


def _pow(a: Number, b: Number) -> Number:
    if abs(b) > MAX_EXPONENT:
        raise ArithError(f"exponent {b} is larger than {MAX_EXPONENT}")
    if a == 0 and b < 0:
        raise ArithError("zero to a negative power")
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() * b > MAX_BITS:
        raise ArithError("the result is too large")
    return float(a) ** b if isinstance(a, float) or isinstance(b, float) or b < 0 else a**b


def _div(a: Number, b: Number) -> Number:
    if b == 0:
        raise ArithError("division by zero")
    return a / b


def _mod(a: Number, b: Number) -> Number:
    if b == 0:
        raise ArithError("modulo by zero")
    return a % b


_BINARY: dict[str, Callable[[Number, Number], Number]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": _div,
    "%": _mod,
    "**": _pow,
}
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int]] = {
    "abs": (abs, 1, 1),
    "min": (min, 1, 20),
    "max": (max, 1, 20),
    "round": (lambda x, n=0: round(x, int(n)) if n else round(x), 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
}


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int]] = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.pos]

    def take(self, value: str | None = None) -> tuple[str, str, int]:
        token = self.tokens[self.pos]
        if value is not None and token[1] != value:
            raise ArithError(f"expected {value!r} at {token[2]}, found {token[1] or 'the end'!r}")
        self.pos += 1
        return token

    def expr(self) -> Node:
        return self.binary(("+", "-"), self.term)

    def term(self) -> Node:
        return self.binary(("*", "/", "%"), self.unary)

    def binary(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.peek()[0] == "op" and self.peek()[1] in ops:
            op = self.take()[1]
            node = BinOp(op, node, operand())
        return node

    def unary(self) -> Node:
        """A signed operand or a power; every nesting (parentheses, signs, ``**`` chains) passes here."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ArithError(f"more than {MAX_DEPTH} levels of nesting at {self.peek()[2]}")
        if self.peek()[1] in ("-", "+"):
            sign = self.take()[1]
            operand = self.unary()
            node: Node = Neg(operand) if sign == "-" else operand
        else:
            node = self.atom()
            if self.peek()[1] == "**":
                self.take()
                node = BinOp("**", node, self.unary())
        self.depth -= 1
        return node

    def atom(self) -> Node:
        kind, value, at = self.take()
        if kind == "num":
            return Num(float(value) if any(c in value for c in ".eE") else int(value))
        if kind in ("ref", "quoted"):
            try:
                return RefNode(refs.parse_ref(value))
            except ValueError as exc:
                raise ArithError(f"at {at}: {exc}") from exc
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if kind == "name":
            return self.call(value, at)
        raise ArithError(f"expected a number, a reference or '(' at {at}, found {value or 'the end'!r}")

    def call(self, name: str, at: int) -> Node:
        if name not in _FUNCTIONS:
            raise ArithError(f"unknown function {name!r} at {at}; use one of {', '.join(_FUNCTIONS)}")
        self.take("(")
        args = [self.expr()]
        while self.peek()[1] == ",":
            self.take()
            args.append(self.expr())
        self.take(")")
        _, least, most = _FUNCTIONS[name]
        if not least <= len(args) <= most:
            raise ArithError(f"{name}() takes {least} to {most} arguments, got {len(args)}")
        return Call(name, tuple(args))


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].isspace():
            break
        found = _TOKEN.match(text, pos)
        if found is None or found.lastgroup is None:
            rest = text[pos:]
            at = pos + len(rest) - len(rest.lstrip())
            raise ArithError(f"unexpected {text[at]!r} at {at}")
        tokens.append((found.lastgroup, found.group(found.lastgroup), found.start(found.lastgroup)))
        pos = found.end()
    tokens.append(("end", "", len(text)))
    return tokens


def parse(text: str) -> Node:
    """The tree of an expression; ArithError naming the position of what is wrong."""
    if not text.strip() or len(text) > MAX_LENGTH:
        raise ArithError(f"an expression has 1 to {MAX_LENGTH} characters")
    parser = _Parser(text)
    node = parser.expr()
    kind, value, at = parser.peek()
    if kind != "end":
        raise ArithError(f"unexpected {value!r} at {at}")
    return node


def _number(value: Any, ref: refs.Ref) -> Number:
    if value is MISSING or value is None:
        raise ArithError(f"{ref} does not exist")
    if isinstance(value, bool):
        raise ArithError(f"{ref} is a boolean, not a number")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
    raise ArithError(f"{ref} is not a number: {str(value)[:100]!r}")


def evaluate(node: Node, resolve: Resolver) -> Number:
    """The value of the tree; references are read with ``resolve`` (numbers, or strings holding one)."""
    try:
        result = _eval(node, resolve)
    except OverflowError as exc:
        raise ArithError("the result is too large") from exc
    if isinstance(result, float) and not math.isfinite(result):
        raise ArithError("the result is not a finite number")
    if isinstance(result, int) and result.bit_length() > MAX_BITS:
        raise ArithError("the result is too large")
    return result


def _eval(node: Node, resolve: Resolver) -> Number:
    match node:
        case Num(value=value):
            return value
        case RefNode(ref=ref):
            return _number(resolve(ref), ref)
        case Neg(operand=operand):
            return -_eval(operand, resolve)
        case BinOp(op=op, left=left, right=right):
            return _BINARY[op](_eval(left, resolve), _eval(right, resolve))
        case Call(name=name, args=args):
            return _FUNCTIONS[name][0](*(_eval(a, resolve) for a in args))
    raise ArithError(f"unknown node {node!r}")
