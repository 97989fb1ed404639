"""Split TQL text into tokens, each with its 0-based character offset for error messages.

Token kinds: ``str`` (quoted, escapes decoded), ``num``, ``time`` (an unquoted ISO date or datetime), ``field``
(``entity@path``), ``word`` (a keyword or a bare path), ``op`` (a comparison), and the punctuation ``( ) [ ] ,``.
The end of the text is an ``end`` token.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

MAX_LENGTH: Final = 10_000


class TqlSyntaxError(ValueError):
    """The text is not a TQL condition; ``position`` (0-based) and ``token`` say where and what."""

    def __init__(self, message: str, position: int, token: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.token = token


class Token(NamedTuple):
    kind: str
    value: Any
    pos: int
    text: str


_TIME = r"\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?(?![\w.:@-])"
_SCAN = re.compile(
    rf"""
    (?P<ws>\s+)
    |(?P<time>{_TIME})
    |(?P<num>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)(?![\w.@])
    |(?P<field>[A-Za-z_][A-Za-z0-9_]*@[A-Za-z0-9_.-]*)
    |(?P<word>[A-Za-z_][A-Za-z0-9_.-]*)
    |(?P<op>==|!=|<>|>=|<=|=>|=<|=|>|<)
    |(?P<punct>[()\[\],])
    """,
    re.VERBOSE,
)
_OPS: Final = {"=": "==", "<>": "!=", "=>": ">=", "=<": "<="}
_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"', "'": "'"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_STRINGS: Final = {q: re.compile(rf"{q}[^{q}\\]*(?:\\.[^{q}\\]*)*{q}", re.DOTALL) for q in "\"'"}
_WORD = re.compile(r"[^\s()\[\],]+|.", re.DOTALL)  # what an error quotes as the bad token
_SURROGATE = re.compile("[\ud800-\udfff]")
_INT_LIMIT: Final = 2**63


def describe(text: str) -> str:
    """A token as error messages quote it."""
    return repr(text) if text else "end of input"


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; TqlSyntaxError for what no token can start with."""
    if len(text) > MAX_LENGTH:
        raise TqlSyntaxError(
            f"condition is {len(text)} characters long, the limit is {MAX_LENGTH}", MAX_LENGTH, text[MAX_LENGTH:][:20]
        )
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos] in "\"'":
            token = _string(text, pos)
        else:
            found = _SCAN.match(text, pos)
            if found is None:
                bad = _WORD.findall(text, pos, pos + 20)[0]
                raise TqlSyntaxError(f"unexpected {bad!r} at {pos}", pos, bad)
            kind = found.lastgroup or ""
            if kind == "ws":
                pos = found.end()
                continue
            token = _token(kind, found.group(), pos)
        tokens.append(token)
        pos += len(token.text)
    tokens.append(Token("end", None, len(text), ""))
    return tokens


def _token(kind: str, raw: str, pos: int) -> Token:
    if kind == "num":
        return Token("num", _number(raw, pos), pos, raw)
    if kind == "time":
        return Token("time", parse_time(raw, pos), pos, raw)
    if kind == "op":
        return Token("op", _OPS.get(raw, raw), pos, raw)
    if kind == "punct":
        return Token(raw, raw, pos, raw)
    return Token(kind, raw, pos, raw)


def _number(raw: str, pos: int) -> int | float:
    if not any(c in raw for c in ".eE"):
        number = int(raw)
        # as JSON stores it: an integer beyond 64 bits becomes a float
        return number if -_INT_LIMIT <= number < _INT_LIMIT else float(number)
    value = float(raw)
    if not math.isfinite(value):
        raise TqlSyntaxError(f"number out of range at {pos}: {raw!r}", pos, raw)
    return value


def parse_time(raw: str, pos: int) -> datetime:
    """An ISO date (midnight) or datetime as an aware datetime; no offset means UTC."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise TqlSyntaxError(f"invalid date or time {raw!r} at {pos}", pos, raw) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _string(text: str, pos: int) -> Token:
    found = _STRINGS[text[pos]].match(text, pos)
    if found is None:
        raise TqlSyntaxError(f"unterminated string starting at {pos}", pos, text[pos : pos + 20])
    raw = found.group()
    return Token("str", _unescape(raw[1:-1], pos + 1), pos, raw)


def _unescape(body: str, offset: int) -> str:
    if "\\" not in body:
        return _checked(body, offset)

    def replace(found: re.Match[str]) -> str:
        code = found.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        if code in _ESCAPES:
            return _ESCAPES[code]
        at = offset + found.start()
        raise TqlSyntaxError(f"unknown escape {found.group()!r} at {at}", at, found.group())

    decoded = _ESCAPE.sub(replace, body)
    if _SURROGATE.search(decoded):
        try:  # a surrogate pair written as two \u escapes is one character
            decoded = decoded.encode("utf-16", "surrogatepass").decode("utf-16")
        except UnicodeDecodeError:
            raise TqlSyntaxError(f"lone surrogate in the string at {offset - 1}", offset - 1, body[:20]) from None
    return decoded


def _checked(body: str, offset: int) -> str:
    if _SURROGATE.search(body):
        raise TqlSyntaxError(f"lone surrogate in the string at {offset - 1}", offset - 1, body[:20])
    return body
