"""Queue messages: one tagged union per queue family, decoded once and dispatched with ``match``.

Queue names are the operators' (kept from the system we re-implement, plus ours). Messages are frozen,
keyword-only Structs tagged by ``kind``; every field added later gets a default (queued jobs outlive a deploy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from tracardi.domain.imports import ImportSpec

EVENT_PROPS_TO_TRAITS = "event_props_to_event_traits:worker"
DESTINATIONS = "destinations:worker"
DELAYED = "scheduler:delayed"
SEGMENTATION_LIVE = "segmentation:live"
EVENT_TO_PROFILE = "event_to_profile_coping:worker"
IMPORT = "import:worker"
MIGRATION = "migration:worker"

QUEUES = (EVENT_PROPS_TO_TRAITS, DESTINATIONS, DELAYED, SEGMENTATION_LIVE, EVENT_TO_PROFILE, IMPORT, MIGRATION)


class CopyEventPropsToTraits(
    msgspec.Struct, frozen=True, kw_only=True, tag="copy-event-props-to-traits", tag_field="kind"
):
    """Copy properties of stored events to their traits: ``fields`` maps a property path to a trait path
    (dot paths, ``"*"`` for every top-level property)."""

    event_ids: list[str]
    fields: dict[str, str] = {}


class CopyEventPropsToTraitsWhere(
    msgspec.Struct, frozen=True, kw_only=True, tag="copy-event-props-to-traits-where", tag_field="kind"
):
    """Copy properties to traits on every stored event of ``event_type`` (empty: any) inserted in
    [``since``, ``until``), page by page, recording progress under the job id."""

    event_type: str = ""
    since: datetime | None = None
    until: datetime | None = None
    fields: dict[str, str] = {}


class SendToWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="send-to-webhook", tag_field="kind"):
    """POST ``data`` as JSON to a destination's webhook ``url``."""

    destination: str
    url: str
    data: Any = None
    headers: dict[str, str] = {}
    timeout: float = 10.0


class DelayedCall(msgspec.Struct, frozen=True, kw_only=True, tag="delayed-call", tag_field="kind"):
    """Run the in-process callable registered as ``name`` with ``args`` when the job is due."""

    name: str
    args: dict[str, Any] = {}


class MigrateUp(msgspec.Struct, frozen=True, kw_only=True, tag="migrate-up", tag_field="kind"):
    """Upgrade the store's schema (``migrate up``): copy outdated indices into new versions, ``batch`` documents a
    request, recording progress under the job id; a re-run resumes what a crashed one left."""

    batch: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 500


class ImportData(msgspec.Struct, frozen=True, kw_only=True, tag="import-data", tag_field="kind"):
    """Run part ``slice`` of the import ``import_id`` (started by the import service, which keeps its record)."""

    import_id: str
    slice: int = 0
    spec: ImportSpec


Message = CopyEventPropsToTraits | CopyEventPropsToTraitsWhere | SendToWebhook | DelayedCall | ImportData | MigrateUp
"""Every message a worker of this version understands."""


TraitsCopy = CopyEventPropsToTraits | CopyEventPropsToTraitsWhere
"""What ``event_props_to_event_traits:worker`` takes."""

QUEUE_MESSAGES: dict[str, Any] = {
    EVENT_PROPS_TO_TRAITS: TraitsCopy,
    DESTINATIONS: SendToWebhook,
    DELAYED: DelayedCall,
    MIGRATION: MigrateUp,
}
"""The message each served queue takes (what the admin API may start as a task)."""
