"""Admin CRUD of live segments (``/api/live-segments``): checked on save, 422 naming the field (a bad TQL
condition, an unknown flow), like the other configuration documents."""

from __future__ import annotations

from tracardi.api.routes._common import services
from tracardi.api.routes.admin._documents import document_routes
from tracardi.domain.live_segment import LiveSegment

routes = document_routes("/live-segments", LiveSegment, lambda request: services(request).live_segments)
