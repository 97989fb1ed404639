"""Live segmentation: live-segment documents, the job that batches profiles onto ``segmentation:live``, and the
worker side that applies a live segment to a batch of profiles."""

from tracardi.engine.segmentation.apply import FlowMissing, LiveSegmenter
from tracardi.engine.segmentation.service import LiveSegmentService

__all__ = ["FlowMissing", "LiveSegmentService", "LiveSegmenter"]
