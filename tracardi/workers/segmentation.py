"""``segmentation:live`` and ``event_to_profile_coping:worker``: thin calls into the engine's segmentation and
events-to-profiles copy, with storage conflicts turned into retries and unrunnable jobs into dead letters."""

from __future__ import annotations

from tracardi.domain.errors import InvalidInput
from tracardi.domain.messages import EVENT_TO_PROFILE, CopyEventsToProfiles, SegmentProfiles
from tracardi.engine import TaskService
from tracardi.engine.profiling import EventsToProfiles, copy_where
from tracardi.engine.segmentation import FlowMissing, LiveSegmenter
from tracardi.log import get_logger
from tracardi.storage import Job, VersionConflict
from tracardi.workers.runner import Abort, Retry

log = get_logger("workers")


class LiveSegmentation:
    """Applies a live segment to a batch of profiles; a profile that kept changing retries the job (the profiles
    already done are not written again: their segment no longer changes them)."""

    def __init__(self, segmenter: LiveSegmenter) -> None:
        self._segmenter = segmenter

    async def __call__(self, message: SegmentProfiles, job: Job) -> None:
        try:
            changed = await self._segmenter.segment(message)
        except FlowMissing as exc:
            raise Abort(str(exc)) from exc
        except VersionConflict as exc:
            raise Retry(f"a profile kept changing: {exc}", defer=0.1) from exc
        log.debug("profiles_segmented", job_id=job.id, profiles=len(message.profile_ids), changed=changed)


class CopyToProfiles:
    """Runs an events-to-profiles copy with its progress under the job id."""

    def __init__(self, copier: EventsToProfiles, tasks: TaskService) -> None:
        self._copier = copier
        self._tasks = tasks

    async def __call__(self, message: CopyEventsToProfiles, job: Job) -> None:
        try:
            where = copy_where(message)
        except InvalidInput as exc:
            raise Abort(exc.detail) from exc
        try:
            await self._tasks.run(
                job.id, EVENT_TO_PROFILE, "copy-events-to-profiles", lambda report: self._copier.copy(where, report)
            )
        except VersionConflict as exc:
            raise Retry(f"a profile kept changing: {exc}", defer=0.1) from exc
