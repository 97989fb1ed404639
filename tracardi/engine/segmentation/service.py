"""Live segments: their administration (checked on save) and the job that queues every profile for them.

The job only pages through profile ids and queues them, one ``segmentation:live`` job per batch; the workers do
the segmenting, in parallel across processes. It pushes ids, not profiles: a job is small, and the worker applies
the segment to the profile as it is when the job runs, not as it was when it was queued.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import msgspec

from tracardi.domain import tql
from tracardi.domain.errors import FieldError, InvalidInput
from tracardi.domain.live_segment import LiveSegment
from tracardi.domain.messages import SEGMENTATION_LIVE, SegmentProfiles
from tracardi.domain.query import Sort
from tracardi.domain.segment import machine_name
from tracardi.engine._stored import delete_or_missing, get_or_missing
from tracardi.engine.background import Background
from tracardi.log import get_logger
from tracardi.storage import FLOWS, LIVE_SEGMENTS, PROFILES, DocumentStore, Page

log = get_logger("segmentation")
_ID = re.compile(r"[a-z0-9][a-z0-9._:-]{0,127}")
SEGMENTATION_FLOW = "segmentation"
"""The flow type a workflow live segment runs (Tracardi's)."""
MAX_LIVE_SEGMENTS = 1000


def _fail(field: str, msg: str) -> InvalidInput:
    return InvalidInput(f"Invalid {field}: {msg}", [FieldError(["body", field], msg)])


def check_live_segment(doc: LiveSegment) -> LiveSegment:
    """The normal form of a live segment, or InvalidInput naming the field (what needs no storage)."""
    doc_id = doc.id.strip().lower()
    if not _ID.fullmatch(doc_id):
        raise _fail("id", "1 to 128 of a-z, 0-9, '.', '_', ':', '-', starting with a letter or digit")
    name = doc.name.strip()
    if not name or len(name) > 200:
        raise _fail("name", "must be 1 to 200 characters")
    if len(doc.description) > 10_000:
        raise _fail("description", "at most 10000 characters")
    if doc.type == "condition":
        segment = machine_name(doc.segment)
        if not segment or len(segment) > 128:
            raise _fail("segment", "a condition live segment needs a segment name of 1 to 128 characters")
        if not doc.condition.strip():
            raise _fail("condition", "a condition live segment needs a TQL condition")
        try:
            tql.parse(doc.condition)
        except ValueError as exc:
            raise _fail("condition", str(exc)) from exc
        return msgspec.structs.replace(doc, id=doc_id, name=name, segment=segment, flow_id="")
    if not doc.flow_id.strip():
        raise _fail("flow_id", "a workflow live segment needs the id of a segmentation flow")
    return msgspec.structs.replace(doc, id=doc_id, name=name, flow_id=doc.flow_id.strip(), segment="", condition="")


class LiveSegmentService:
    """CRUD of live segments and the ``live-segmentation`` job's work: queue every profile for each one."""

    def __init__(self, store: DocumentStore, background: Background, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._background = background
        self._clock = clock

    async def save(self, doc: LiveSegment) -> LiveSegment:
        """Check and create or replace; InvalidInput names the field (a workflow's flow must exist and be of
        type ``segmentation``)."""
        doc = check_live_segment(doc)
        if doc.type == "workflow":
            flow = await self._store.get(FLOWS, doc.flow_id)
            if flow is None:
                raise _fail("flow_id", f"no flow `{doc.flow_id[:200]}`; save the flow first")
            if flow.doc.type != SEGMENTATION_FLOW:
                raise _fail(
                    "flow_id", f"flow type is `{flow.doc.type}`; a live segment runs flows of type segmentation"
                )
        existing = await self._store.get(LIVE_SEGMENTS, doc.id)
        if existing is None and await self._store.count(LIVE_SEGMENTS) >= MAX_LIVE_SEGMENTS:
            raise _fail("id", f"at most {MAX_LIVE_SEGMENTS} live segments")
        doc = msgspec.structs.replace(doc, timestamp=self._clock())
        await self._store.put(LIVE_SEGMENTS, doc.id, doc)
        return doc

    async def find(self, doc_id: str) -> LiveSegment | None:
        found = await self._store.get(LIVE_SEGMENTS, doc_id.strip().lower())
        return found.doc if found else None

    async def get(self, doc_id: str) -> LiveSegment:
        return await get_or_missing(
            self._store, LIVE_SEGMENTS, doc_id.strip().lower(), f"Live segment `{doc_id[:200]}`"
        )

    async def delete(self, doc_id: str) -> None:
        await delete_or_missing(self._store, LIVE_SEGMENTS, doc_id.strip().lower(), f"Live segment `{doc_id[:200]}`")

    async def enqueue_all(self, batch: int, errors: list[str]) -> int:
        """Queue every profile once per enabled live segment, ``batch`` ids per job; how many profile-segment
        pairs were queued. A live segment whose flow is gone is skipped and named in ``errors``."""
        queued = 0
        async for page in self._store.scan(LIVE_SEGMENTS, page_size=100):
            for item in page:
                live = item.doc
                if not live.enabled:
                    continue
                if live.type == "workflow" and await self._store.get(FLOWS, live.flow_id) is None:
                    errors.append(f"live segment {live.id}: flow {live.flow_id} not found")
                    continue
                queued += await self._enqueue(live, batch)
        return queued

    async def _enqueue(self, live: LiveSegment, batch: int) -> int:
        queued = 0
        async for page in self._store.scan(PROFILES, None, page_size=batch):
            ids = [item.doc.id for item in page]
            await self._background.send(SEGMENTATION_LIVE, SegmentProfiles(live_segment=live.id, profile_ids=ids))
            queued += len(ids)
        log.info("live_segment_queued", live_segment=live.id, profiles=queued)
        return queued

    # last in the class: after it, `list` in an annotation here would name this method
    async def list(self, *, limit: int = 100, after: str | None = None) -> Page[LiveSegment]:
        return await self._store.query(LIVE_SEGMENTS, None, sort=(Sort(field="name"),), limit=limit, after=after)
