"""The tokens a profile is found by for identity resolution."""

from __future__ import annotations

from datetime import UTC, datetime

from tracardi.domain.identity import MAX_TOKENS, identity_tokens
from tracardi.domain.profile import new_profile

_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_identity_tokens_are_normalised_and_bounded() -> None:
    profile = new_profile("p", _T0)
    profile.data.contact.email.main = "  Ann@Example.COM "
    profile.traits = {"cards": [f"c{i}" for i in range(100)], "n": 7, "flag": True, "blank": " "}
    keys = ["data.contact.email.main", "traits.n", "traits.flag", "traits.blank", "traits.cards"]
    tokens = identity_tokens(profile, keys)
    assert tokens[:2] == ["data.contact.email.main=ann@example.com", "traits.n=7"]
    assert len(tokens) == MAX_TOKENS
