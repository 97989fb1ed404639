"""Merging profiles keeps every non-empty field of each: lists unioned, counters summed, the newer scalar wins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tracardi.domain.merge import is_empty, merge_profiles
from tracardi.domain.profile import Profile, new_profile

_T0 = datetime(2024, 1, 1, tzinfo=UTC)
_keys = st.sampled_from(["a", "b", "c", "d"])
_text = st.text(max_size=5)
_scalars = st.none() | st.booleans() | st.integers(-100, 100) | _text
_lists = st.lists(st.integers(0, 5) | st.sampled_from(["x", "y"]), max_size=4)
# each trait key holds one kind of value in both profiles, so what the merge must do with it is clear
_KINDS = {"a": _scalars, "b": _lists, "c": _scalars, "d": _lists}


@st.composite
def profiles(draw: st.DrawFn, profile_id: str) -> Profile:
    profile = new_profile(profile_id, _T0 + timedelta(days=draw(st.integers(0, 30))))
    profile.ids = [profile_id, *draw(st.lists(st.sampled_from(["old-1", "old-2", "old-3"]), max_size=2))]
    profile.metadata.time.update = _T0 + timedelta(days=draw(st.integers(0, 60)), seconds=draw(st.integers(0, 9)))
    profile.traits = {k: draw(_KINDS[k]) for k in draw(st.sets(_keys))}
    profile.segments = draw(st.lists(st.sampled_from(["vip", "new", "churn"]), unique=True))
    profile.interests = draw(st.dictionaries(st.sampled_from(["shoes", "tea"]), st.integers(0, 9).map(float)))
    profile.stats.visits = draw(st.integers(0, 50))
    profile.stats.views = draw(st.integers(0, 50))
    profile.stats.counters = draw(st.dictionaries(st.sampled_from(["x", "y"]), st.integers(0, 9).map(float)))
    profile.consents = draw(st.dictionaries(st.sampled_from(["mail", "sms"]), st.none() | st.just("2030-01-01")))
    profile.data.contact.email.main = draw(st.none() | st.emails())
    profile.data.pii.firstname = draw(st.none() | _text)
    profile.data.metrics.ltv = draw(st.integers(0, 1000).map(float))
    profile.data.preferences.colors = draw(_lists.map(lambda items: [str(i) for i in items]))
    return profile


def _expected_scalar(old: Any, new: Any) -> Any:
    return old if is_empty(new) else new


@settings(max_examples=300, deadline=None)
@given(profiles("p1"), profiles("p2"))
def test_merging_two_profiles_keeps_every_non_empty_field_of_both(a: Profile, b: Profile) -> None:
    before = msgspec.json.encode([a, b])
    merged = merge_profiles(a, [b])
    assert msgspec.json.encode([a, b]) == before, "the inputs are not changed"
    old, new = (a, b) if (a.metadata.time.update or _T0) < (b.metadata.time.update or _T0) else (b, a)

    assert merged.id == "p1"
    assert set(merged.ids) == {*a.ids, *b.ids, "p1", "p2"} and len(merged.ids) == len(set(merged.ids))
    assert set(merged.segments) == {*a.segments, *b.segments}
    assert merged.stats.visits == a.stats.visits + b.stats.visits
    assert merged.stats.views == a.stats.views + b.stats.views
    for key in {*a.stats.counters, *b.stats.counters}:
        assert merged.stats.counters[key] == a.stats.counters.get(key, 0) + b.stats.counters.get(key, 0)
    for key in {*a.interests, *b.interests}:
        assert merged.interests[key] == a.interests.get(key, 0) + b.interests.get(key, 0)
    assert merged.data.metrics.ltv == a.data.metrics.ltv + b.data.metrics.ltv
    for key in {*a.traits, *b.traits}:
        if key not in old.traits or key not in new.traits:
            assert merged.traits[key] == (old.traits | new.traits)[key]
        elif isinstance(old.traits[key], list) and isinstance(new.traits[key], list):
            assert set(map(repr, merged.traits[key])) == set(map(repr, old.traits[key] + new.traits[key]))
        else:
            assert merged.traits[key] == _expected_scalar(old.traits[key], new.traits[key])
    assert set(merged.data.preferences.colors) == {*a.data.preferences.colors, *b.data.preferences.colors}
    assert merged.data.contact.email.main == _expected_scalar(old.data.contact.email.main, new.data.contact.email.main)
    assert merged.data.pii.firstname == _expected_scalar(old.data.pii.firstname, new.data.pii.firstname)
    assert set(merged.consents) == {*a.consents, *b.consents}
    assert merged.metadata.time.insert == min(a.metadata.time.insert or _T0, b.metadata.time.insert or _T0)
    assert merged.metadata.time.update == max(a.metadata.time.update or _T0, b.metadata.time.update or _T0)
    # the result is a valid stored profile
    assert msgspec.json.decode(msgspec.json.encode(merged), type=Profile) == merged


def test_a_newer_empty_value_never_wipes_an_older_one() -> None:
    old = new_profile("old", _T0)
    old.data.contact.email.main = "ann@example.com"
    old.traits = {"tier": "gold", "tags": ["a"]}
    new = new_profile("new", _T0 + timedelta(days=1))
    new.metadata.time.update = _T0 + timedelta(days=2)
    new.traits = {"tier": "", "tags": []}
    merged = merge_profiles(new, [old])
    assert merged.data.contact.email.main == "ann@example.com"
    assert merged.traits == {"tier": "gold", "tags": ["a"]}


def test_three_profiles_merge_into_the_survivor_with_every_id() -> None:
    profiles_ = [new_profile(f"p{i}", _T0 + timedelta(days=i)) for i in range(3)]
    for i, p in enumerate(profiles_):
        p.stats.visits = i + 1
        p.ids = [p.id, f"legacy-{i}"]
    merged = merge_profiles(profiles_[1], [profiles_[0], profiles_[2]])
    assert merged.id == "p1"
    assert merged.ids[:2] == ["p1", "legacy-1"]
    assert set(merged.ids) == {"p0", "p1", "p2", "legacy-0", "legacy-1", "legacy-2"}
    assert merged.stats.visits == 6
