"""Use cases over the storage ports: tracking, sources and stored records."""

from tracardi.engine.background import Background, QueueService
from tracardi.engine.heartbeat import Heartbeat
from tracardi.engine.imports import ImportFailed, ImportService, ImportsOptions
from tracardi.engine.jobs import JobService, JobsOptions
from tracardi.engine.records import EventFilter, RecordService
from tracardi.engine.sources import SourceService, normalize_source
from tracardi.engine.tasks import TaskService
from tracardi.engine.tracking import RequestInfo, Tracker, TrackerOptions, TrackResult
from tracardi.engine.traits import copy_props_to_traits

__all__ = [
    "Background",
    "EventFilter",
    "Heartbeat",
    "ImportFailed",
    "ImportService",
    "ImportsOptions",
    "JobService",
    "JobsOptions",
    "QueueService",
    "RecordService",
    "RequestInfo",
    "SourceService",
    "TaskService",
    "TrackResult",
    "Tracker",
    "TrackerOptions",
    "copy_props_to_traits",
    "normalize_source",
]
