"""Scheduled jobs: one firing per schedule across hosts, heartbeat visit-end and profile-event, run records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
import redis.asyncio as aioredis

from tests.conftest import SettingsFactory, payload
from tracardi.domain.flow import FlowTrace
from tracardi.domain.jobs import JobSpec
from tracardi.domain.payload import TrackerPayload
from tracardi.domain.query import Eq
from tracardi.engine import JobService
from tracardi.jobs import run_jobs, scheduled_time, trigger_of
from tracardi.jobs.scheduler import EPOCH
from tracardi.services import Services, open_services
from tracardi.settings import SettingsError
from tracardi.storage import EVENTS, FLOW_TRACES, SESSIONS
from tracardi.storage.redis import RedisLeases

VISIT_END = {"name": "visit-end", "kind": "visit-end", "source": "demo", "interval": 60, "idle": 0.01}
INACTIVE = {"name": "inactive", "kind": "session-inactive", "source": "demo", "interval": 60, "idle": 0.5}
BEAT = {"name": "beat", "kind": "profile-event", "source": "demo", "cron": "0 3 * * *", "event_type": "heartbeat"}
TRACES = {"name": "traces", "kind": "trace-retention", "interval": 3600, "keep": 86400}


@pytest.fixture
async def services(make_settings: SettingsFactory) -> AsyncIterator[Services]:
    async with open_services(make_settings(jobs={"definitions": [VISIT_END, INACTIVE, BEAT, TRACES]})) as svc:
        yield svc


async def track(svc: Services, body: dict[str, Any]) -> Any:
    return await svc.tracker.track(msgspec.convert(body, TrackerPayload))


def test_every_host_computes_the_same_scheduled_time() -> None:
    trigger = trigger_of(JobSpec(name="a", kind="visit-end", source="s", interval=60))
    base = EPOCH + timedelta(days=1000, seconds=120)
    times = {scheduled_time(trigger, base + timedelta(seconds=late), 30) for late in (0, 0.2, 5, 29)}
    assert times == {base}
    cron = trigger_of(JobSpec(name="b", kind="visit-end", source="s", cron="*/5 * * * *"))
    at = datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    assert scheduled_time(cron, at + timedelta(seconds=3), 30) == at


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "x", "kind": "visit-end", "source": "s"}, "exactly one of interval"),
        ({"name": "x", "kind": "visit-end", "source": "s", "interval": 5, "cron": "* * * * *"}, "exactly one"),
        ({"name": "x", "kind": "nope", "source": "s", "interval": 5}, "kind"),
        ({"name": "x", "kind": "visit-end", "source": "s", "interval": 5, "bogus": 1}, "bogus"),
        ({"name": " ", "kind": "visit-end", "source": "s", "interval": 5}, "needs a name"),
        ({"name": "x", "kind": "session-inactive", "source": "s", "interval": 5, "idle": 60, "window": 30}, "window"),
        ({"name": "x", "kind": "profile-event", "source": "s", "interval": 5, "where": "stats.visits >"}, "where"),
        ({"name": "x", "kind": "profile-event", "source": "s", "interval": 5, "where": "event@type == 'a'"}, "where"),
        ({"name": "x", "kind": "trace-retention", "interval": 5, "keep": 0}, "keep"),
    ],
)
def test_bad_job_definitions_stop_the_start(make_settings: SettingsFactory, spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        make_settings(jobs={"definitions": [spec]})


async def test_visit_end_emits_visit_ended_through_the_tracker_once(services: Services) -> None:
    result = await track(services, payload())
    session_id = result.session.id
    await asyncio.sleep(0.03)
    now = datetime.now(UTC)
    run = await services.jobs.run("visit-end", now)
    assert run is not None and (run.status, run.profiles, run.errors) == ("done", 1, [])
    assert await services.jobs.run("visit-end", now) is None, "one run per scheduled time"
    events = await services.store.query(EVENTS, Eq(field="session.id", value=session_id), limit=50)
    assert sorted(e.doc.type for e in events.items).count("visit-ended") == 1
    stored = await services.store.get(SESSIONS, session_id)
    assert stored is not None and stored.doc.metadata.status == "ended"
    again = await services.jobs.run("visit-end", now + timedelta(minutes=1))
    assert again is not None and again.profiles == 0
    runs = await services.jobs.last_runs("visit-end")
    assert [r.profiles for r in runs] == [0, 1]


async def test_trace_retention_deletes_the_traces_older_than_keep(services: Services) -> None:
    now = datetime.now(UTC)
    ages = {"old-1": timedelta(days=3), "old-2": timedelta(days=1, minutes=1), "recent": timedelta(hours=23)}
    for trace_id, age in ages.items():
        trace = FlowTrace(id=trace_id, event_id=f"e-{trace_id}", flow_id="f", time=now - age)
        await services.store.put(FLOW_TRACES, trace_id, trace)
    run = await services.jobs.run("traces", now)
    assert run is not None and (run.status, run.profiles, run.errors) == ("done", 2, [])
    left = await services.store.query(FLOW_TRACES, None, limit=10)
    assert [item.doc.id for item in left.items] == ["recent"]


async def test_session_inactive_registers_one_event_per_quiet_session(services: Services) -> None:
    quiet = await track(services, payload())
    await asyncio.sleep(0.6)
    busy = await track(services, payload())  # active less than `idle` (0.5 s) ago: not inactive yet
    now = datetime.now(UTC)
    run = await services.jobs.run("inactive", now)
    assert run is not None and (run.status, run.errors) == ("done", [])
    marked = await services.store.query(EVENTS, Eq(field="type", value="session-inactive"), limit=50)
    assert [e.doc.session.id for e in marked.items if e.doc.session] == [quiet.session.id]
    assert marked.items[0].doc.profile is not None and marked.items[0].doc.profile.id == quiet.profile.id
    await asyncio.sleep(0.6)
    again = await services.jobs.run("inactive", now + timedelta(minutes=1))
    assert again is not None and again.profiles == 1, "only the busy session is new; the quiet one is done"
    marked = await services.store.query(EVENTS, Eq(field="type", value="session-inactive"), limit=50)
    assert sorted(e.doc.session.id for e in marked.items if e.doc.session) == sorted(
        [quiet.session.id, busy.session.id]
    )


async def test_profile_event_registers_an_event_per_profile(services: Services) -> None:
    first = await track(services, payload())
    await track(services, payload())
    run = await services.jobs.run("beat", datetime.now(UTC), manual=True)
    assert run is not None and run.profiles == 2 and run.manual
    beats = await services.store.query(EVENTS, Eq(field="type", value="heartbeat"), limit=50)
    assert len(beats.items) == 2
    mine = [e.doc for e in beats.items if e.doc.profile and e.doc.profile.id == first.profile.id]
    assert mine and mine[0].session is not None and mine[0].session.id == first.session.id


async def test_profile_event_takes_a_tql_condition(make_settings: SettingsFactory) -> None:
    spec = {**BEAT, "name": "loyal", "event_type": "loyal-beat", "where": "profile@stats.visits >= 2"}
    async with open_services(make_settings(jobs={"definitions": [spec]})) as svc:
        once = await track(svc, payload())
        twice = await track(svc, payload())
        await track(svc, payload(session={"id": str(uuid.uuid4())}, profile={"id": twice.profile.id}))
        run = await svc.jobs.run("loyal", datetime.now(UTC), manual=True)
        assert run is not None and run.profiles == 1
        beats = await svc.store.query(EVENTS, Eq(field="type", value="loyal-beat"), limit=50)
        assert [e.doc.profile.id for e in beats.items if e.doc.profile] == [twice.profile.id]
        assert once.profile.id != twice.profile.id


async def test_a_failing_job_is_recorded_as_failed(make_settings: SettingsFactory) -> None:
    spec = {**VISIT_END, "source": "no-such-source"}
    async with open_services(make_settings(jobs={"definitions": [spec]})) as svc:
        await track(svc, payload())
        await asyncio.sleep(0.03)
        run = await svc.jobs.run("visit-end", datetime.now(UTC))
    assert run is not None and run.status == "done" and run.profiles == 0
    assert run.errors and "Invalid event source" in run.errors[0]


async def test_two_hosts_with_redis_leases_fire_a_schedule_once(services: Services, redis_url: str) -> None:
    prefix = f"tracardi-test:{uuid.uuid4().hex[:12]}:"
    client = aioredis.Redis.from_url(redis_url)
    try:
        hosts = [
            JobService(
                list(services.jobs.specs.values()),
                services.store,
                RedisLeases(client, prefix=prefix),
                services.jobs._heartbeat,
                lambda: datetime.now(UTC),
            )
            for _ in range(2)
        ]
        when = datetime.now(UTC).replace(microsecond=0)
        runs = await asyncio.gather(*(host.run("beat", when) for host in hosts))
        assert sum(run is not None for run in runs) == 1
    finally:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_the_jobs_role_fires_on_schedule(make_settings: SettingsFactory) -> None:
    spec = {**VISIT_END, "interval": 0.2}
    settings = make_settings(jobs={"definitions": [spec], "misfire_grace": 1})
    async with open_services(settings) as svc:
        stop = asyncio.Event()
        task = asyncio.create_task(run_jobs(svc.jobs, settings.jobs, stop))
        for _ in range(100):
            runs = await svc.jobs.last_runs("visit-end")
            if runs and runs[-1].status == "done":
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        runs = await svc.jobs.last_runs("visit-end")
    assert runs and runs[-1].status == "done"
    assert all(run.status == "done" for run in runs), "stop lets a running job finish"
