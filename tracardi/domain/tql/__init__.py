"""TQL, Tracardi's condition language: ``profile@stats.visits > 3 AND event@type == "purchase"``.

``parse`` turns text into a syntax tree (cached), ``evaluate`` tests it against in-memory entities, and
``to_query`` compiles it into the documents port's query, so the same condition searches stored profiles.
"""

from tracardi.domain.tql.ast import Expr, Field, Value
from tracardi.domain.tql.evaluate import evaluate, predicate
from tracardi.domain.tql.lexer import MAX_LENGTH, TqlSyntaxError
from tracardi.domain.tql.parser import MAX_DEPTH, parse
from tracardi.domain.tql.querying import TqlNotQueryable, to_query

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expr",
    "Field",
    "TqlNotQueryable",
    "TqlSyntaxError",
    "Value",
    "evaluate",
    "parse",
    "predicate",
    "to_query",
]
