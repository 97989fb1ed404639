"""Admin reads and deletes of profiles, sessions and events (lists are newest first, paged)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracardi.api.errors import json_response
from tracardi.api.routes._common import page_params, page_response, services
from tracardi.api.routes.admin._auth import Handler, admin


@admin
async def get_profile(request: Request) -> Response:
    """A profile by id, or by any id merged into it."""
    return json_response(await services(request).records.profile(request.path_params["id"]))


@admin
async def list_profiles(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).records.profiles(limit=limit, after=after)
    return page_response(page)


@admin
async def profile_sessions(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).records.sessions_of(request.path_params["id"], limit=limit, after=after)
    return page_response(page)


@admin
async def profile_events(request: Request) -> Response:
    limit, after = page_params(request)
    event_type = request.query_params.get("type")
    page = await services(request).records.events_of(
        profile_id=request.path_params["id"], event_type=event_type, limit=limit, after=after
    )
    return page_response(page)


@admin
async def get_session(request: Request) -> Response:
    return json_response(await services(request).records.session(request.path_params["id"]))


@admin
async def session_events(request: Request) -> Response:
    limit, after = page_params(request)
    page = await services(request).records.events_of(session_id=request.path_params["id"], limit=limit, after=after)
    return page_response(page)


@admin
async def get_event(request: Request) -> Response:
    return json_response(await services(request).records.event(request.path_params["id"]))


def _deleter(kind: str) -> Handler:
    @admin
    async def delete(request: Request) -> Response:
        await services(request).records.delete(kind, request.path_params["id"])
        return json_response({"deleted": request.path_params["id"]})

    return delete


routes = [
    Route("/profiles", list_profiles, methods=["GET"]),
    Route("/profiles/{id}", get_profile, methods=["GET"]),
    Route("/profiles/{id}", _deleter("profile"), methods=["DELETE"]),
    Route("/profiles/{id}/sessions", profile_sessions, methods=["GET"]),
    Route("/profiles/{id}/events", profile_events, methods=["GET"]),
    Route("/sessions/{id}", get_session, methods=["GET"]),
    Route("/sessions/{id}", _deleter("session"), methods=["DELETE"]),
    Route("/sessions/{id}/events", session_events, methods=["GET"]),
    Route("/events/{id}", get_event, methods=["GET"]),
    Route("/events/{id}", _deleter("event"), methods=["DELETE"]),
]
