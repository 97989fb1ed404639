"""Identity resolution: profiles that share a merge-key value become one, the tracked profile surviving.

Runs after the flows, inside the tracker's profile lock. The token locks (one per merge-key value) are held from
the lookup until the survivor is durable, so two concurrent tracks that bring the same email never both survive:
the second one waits, then finds the first. The other profiles' locks are taken too (the tracker's own
``profile:<id>`` keys), so nobody updates a profile while it is merged away; every wait is bounded, and a merge that
cannot get its locks is deferred to the profile's next track, never half-done.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from tracardi.domain import dotpath
from tracardi.domain.identity import TOKENS_FIELD, identity_tokens, store_tokens, stored_tokens
from tracardi.domain.merge import merge_profiles
from tracardi.domain.profile import Profile
from tracardi.domain.query import Condition, Eq, In, Or
from tracardi.log import get_logger
from tracardi.storage import PROFILES, DocumentStore, Locks

log = get_logger("profiling")


class Resolution:
    """What one merge decided: the profiles merged away (deleted once the survivor is saved)."""

    def __init__(self) -> None:
        self.merged_away: list[str] = []


async def resolve(
    store: DocumentStore,
    locks: Locks,
    stack: AsyncExitStack,
    profile: Profile,
    keys: list[str],
    *,
    requested: list[str],
    lock_wait: float,
    limit: int,
) -> Resolution | None:
    """Merge into ``profile`` (in place) the profiles sharing a new value of a merge key or a value of a
    ``requested`` path (asked for by a flow: looked up even when the profile held it before).

    Returns None when nothing changed, else what was merged away; the locks stay on ``stack`` until the caller
    closes it after writing the survivor.
    """
    tokens = identity_tokens(profile, keys)
    known = set(stored_tokens(profile))
    wanted = sorted({*(t for t in tokens if t not in known), *identity_tokens(profile, requested)})
    if not wanted:
        return Resolution() if store_tokens(profile, tokens) else None
    if not await _hold(stack, locks, [f"merge:{t}" for t in wanted], lock_wait):
        log.warning("merge_deferred", profile_id=profile.id, reason="merge-key lock busy")
        return None
    page = await store.query(
        PROFILES, _sharing(profile, wanted, [k for k in requested if k not in keys]), limit=limit + 1
    )
    other_ids = sorted({item.doc.id for item in page.items} - {profile.id})[:limit]
    resolution = Resolution()
    if other_ids:
        if not await _hold(stack, locks, [f"profile:{i}" for i in other_ids], lock_wait):
            log.warning("merge_deferred", profile_id=profile.id, reason="profile lock busy", others=other_ids)
            return None
        others = [item.doc for item in await store.get_many(PROFILES, other_ids)]
        merged = merge_profiles(profile, others)
        for name in Profile.__struct_fields__:
            setattr(profile, name, getattr(merged, name))
        resolution.merged_away = [p.id for p in others]
        tokens = identity_tokens(profile, keys)
        log.info("profiles_merged", profile_id=profile.id, merged=resolution.merged_away)
    # a profile is found by the values it holds now (a changed email no longer finds it by the old one)
    store_tokens(profile, tokens)
    return resolution


def _sharing(profile: Profile, tokens: list[str], paths: list[str]) -> Condition:
    """Profiles holding one of the tokens, or (for paths that are not merge keys, so have no token) the same value."""
    items: list[Condition] = [In(field=TOKENS_FIELD, values=tuple(tokens))]
    for path in paths:
        value = dotpath.get(profile, path)
        if isinstance(value, str | int | float) and not isinstance(value, bool) and value != "":
            items.append(Eq(field=path, value=value))
    return Or(items=tuple(items))


async def _hold(stack: AsyncExitStack, locks: Locks, keys: list[str], lock_wait: float) -> bool:
    """Take every lock (in key order, so two callers never wait on each other in a cycle) within ``lock_wait`` s."""
    try:
        async with asyncio.timeout(lock_wait):
            for key in sorted(keys):
                await stack.enter_async_context(locks.hold(key))
    except TimeoutError:
        return False
    return True
