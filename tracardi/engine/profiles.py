"""Finding a profile by any id that resolves to it."""

from __future__ import annotations

from tracardi.domain.profile import Profile
from tracardi.domain.query import Eq, Sort
from tracardi.storage import PROFILES, DocumentStore, Versioned

_NEWEST = (Sort(field="metadata.time.update", desc=True),)


async def find_profile(store: DocumentStore, profile_id: str) -> Versioned[Profile] | None:
    """The profile with this id, or the one it was merged into (the newest when several list the id)."""
    found = await store.get(PROFILES, profile_id)
    if found is not None:
        return found
    page = await store.query(PROFILES, Eq(field="ids", value=profile_id), sort=_NEWEST, limit=1)
    return page.items[0] if page.items else None
