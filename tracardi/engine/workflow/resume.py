"""Resume a paused branch when its delayed job is due (the ``flow.resume`` callable of ``scheduler:delayed``).

The flow goes on at the paused node's output port with the payload the node received, on the profile and session
as they are now (under the profile's lock) and the event as it was. Changes to the profile and session are saved
with optimistic concurrency; a conflict fails the job, which the queue retries on fresh data. Changes to the event
are not saved again (it was stored by its request).
"""

from __future__ import annotations

from typing import Any

import msgspec

from tracardi.engine.profiles import find_profile
from tracardi.engine.workflow.compile import CompiledFlow
from tracardi.engine.workflow.engine import ResumeArgs, Workflows
from tracardi.engine.workflow.guard import encode
from tracardi.log import get_logger
from tracardi.storage import EVENTS, FLOW_TRACES, PROFILES, SESSIONS, DocumentStore, Locks, Put, WriteOp

log = get_logger("workflow")


class FlowResumer:
    """The delayed callable that resumes paused flows."""

    def __init__(self, workflows: Workflows, store: DocumentStore, locks: Locks) -> None:
        self._workflows = workflows
        self._store = store
        self._locks = locks

    async def __call__(self, args: dict[str, Any]) -> None:
        msg = msgspec.convert(args, ResumeArgs, strict=False)
        flow = await self._workflows.flows.compiled(msg.flow_id)
        if flow is None or msg.node_id not in flow.by_id:
            log.warning("flow_resume_dropped", flow_id=msg.flow_id, node_id=msg.node_id, reason="flow gone or changed")
            return
        if not msg.profile_id:
            await self._resume(msg, flow)
            return
        async with self._locks.hold(f"profile:{msg.profile_id}"):
            await self._resume(msg, flow)

    async def _resume(self, msg: ResumeArgs, flow: CompiledFlow) -> None:
        stored_profile = await find_profile(self._store, msg.profile_id) if msg.profile_id else None
        stored_session = await self._store.get(SESSIONS, msg.session_id) if msg.session_id else None
        profile = stored_profile.doc if stored_profile else None
        session = stored_session.doc if stored_session else None
        before = encode(profile), encode(session)
        trace = msg.event.metadata.debug or flow.debug
        run = await self._workflows.run(
            flow, profile, session, msg.event, trace=trace, resume=(msg.node_id, msg.port, msg.payload)
        )
        ctx = run.ctx
        ops: list[WriteOp] = []
        if stored_profile is not None and ctx.profile is not None and encode(ctx.profile) != before[0]:
            ops.append(Put(PROFILES, ctx.profile.id, ctx.profile, if_version=stored_profile.version))
        if stored_session is not None and ctx.session is not None and encode(ctx.session) != before[1]:
            ops.append(Put(SESSIONS, ctx.session.id, ctx.session, if_version=stored_session.version))
        ops.extend(Put(EVENTS, e.id, e) for e in ctx.injected)
        if trace:
            record = self._workflows.trace(run, flow, None, msg.event)
            record.id = f"{record.id}:resumed:{msg.node_id}:{ctx.now.timestamp()}"
            ops.append(Put(FLOW_TRACES, record.id, record))
        if ops:
            failed = next((r.error for r in await self._store.bulk(ops) if r.error is not None), None)
            if failed is not None:
                raise failed
        log.info("flow_resumed", flow_id=flow.flow.id, node_id=msg.node_id, error=run.error)
        hop = msg.hop + 1
        await self._workflows.schedule(
            [
                (msgspec.structs.replace(msg, node_id=c.node_id, port=c.port, payload=c.payload, hop=hop), c.delay)
                for c in ctx.continuations
            ]
        )
