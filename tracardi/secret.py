"""A string that never shows in a repr or a log line (passwords, tokens, API keys in settings)."""

from __future__ import annotations


class Secret:
    """A string that never shows in a repr or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"
