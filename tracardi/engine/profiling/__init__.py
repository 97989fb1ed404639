"""Profile intelligence: event validation, reshaping, event-to-profile mapping, merge keys and segments."""

from tracardi.engine.profiling.backfill import EventsToProfiles, copy_where
from tracardi.engine.profiling.profiler import AfterFlows, Profiler, ProfilingOptions
from tracardi.engine.profiling.service import MAPPING, RESHAPING, SCHEMA, SEGMENT, Kind, ProfilingService

__all__ = [
    "MAPPING",
    "RESHAPING",
    "SCHEMA",
    "SEGMENT",
    "AfterFlows",
    "EventsToProfiles",
    "Kind",
    "Profiler",
    "ProfilingOptions",
    "ProfilingService",
    "copy_where",
]
