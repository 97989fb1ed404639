"""Use cases over the storage ports: tracking, sources and stored records."""

from tracardi.engine.records import RecordService
from tracardi.engine.sources import SourceService, normalize_source
from tracardi.engine.tracking import RequestInfo, Tracker, TrackerOptions, TrackResult

__all__ = [
    "RecordService",
    "RequestInfo",
    "SourceService",
    "TrackResult",
    "Tracker",
    "TrackerOptions",
    "normalize_source",
]
