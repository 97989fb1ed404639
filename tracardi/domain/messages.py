"""Queue messages: one tagged union per queue family, decoded once and dispatched with ``match``.

Queue names are the operators' (kept from the system we re-implement, plus ours). Messages are frozen,
keyword-only Structs tagged by ``kind``; every field added later gets a default (queued jobs outlive a deploy).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from tracardi.domain import tql
from tracardi.domain.errors import FieldError, InvalidInput
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


class SegmentProfiles(msgspec.Struct, frozen=True, kw_only=True, tag="segment-profiles", tag_field="kind"):
    """Apply the live segment ``live_segment`` (its current version) to each profile of ``profile_ids``."""

    live_segment: str
    profile_ids: list[str]


class CopyEventsToProfiles(msgspec.Struct, frozen=True, kw_only=True, tag="copy-events-to-profiles", tag_field="kind"):
    """Apply the current event-to-profile mappings to every stored event matching ``where`` (TQL on the event),
    of ``event_type`` (empty: any), inserted in [``since``, ``until``), recording progress under the job id."""

    where: str = ""
    event_type: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def events(self) -> tql.Expr | None:
        """The parsed ``where`` (None when empty); raises InvalidInput naming the field."""
        if not self.where.strip():
            return None
        try:
            expr = tql.parse(self.where)
            tql.to_query(expr, "event")
        except ValueError as exc:
            raise InvalidInput(f"Invalid where: {exc}", [FieldError(["body", "where"], str(exc))]) from exc
        return expr


def check_message(message: Any) -> None:
    """Raise InvalidInput naming the field when a message that decoded is still not one a worker can run."""
    if isinstance(message, CopyEventsToProfiles):
        message.events()


Message = (
    CopyEventPropsToTraits
    | CopyEventPropsToTraitsWhere
    | SendToWebhook
    | DelayedCall
    | ImportData
    | SegmentProfiles
    | CopyEventsToProfiles
    | MigrateUp
)
"""Every message a worker of this version understands."""


TraitsCopy = CopyEventPropsToTraits | CopyEventPropsToTraitsWhere
"""What ``event_props_to_event_traits:worker`` takes."""

QUEUE_MESSAGES: dict[str, Any] = {
    EVENT_PROPS_TO_TRAITS: TraitsCopy,
    DESTINATIONS: SendToWebhook,
    DELAYED: DelayedCall,
    MIGRATION: MigrateUp,
    EVENT_TO_PROFILE: CopyEventsToProfiles,
}
"""The message each served queue takes (what the admin API may start as a task)."""
