"""What a tracking call tells about the visit: fill a session from the tracker context and the request."""

from __future__ import annotations

from typing import Any

from tracardi.domain.session import Session
from tracardi.engine.useragent import parse_user_agent

_UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def _dig(obj: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def user_agent_of(context: dict[str, Any], header_ua: str) -> str:
    """The tracker's own user agent (``context.browser.local.browser.userAgent``) wins over the header."""
    ua = _dig(context, "browser", "local", "browser", "userAgent")
    return ua if isinstance(ua, str) and ua else header_ua


def fill_new_session(session: Session, context: dict[str, Any], ua: str, ip: str | None, channel: str) -> None:
    """Device, os, app, screen, utm, ip and channel of a session seen for the first time."""
    agent = parse_user_agent(ua)
    session.os.name, session.os.version = agent.os_name, agent.os_version
    app = session.app
    app.type, app.name, app.version, app.bot = "browser", agent.app_name, agent.app_version, agent.bot
    language = _dig(context, "browser", "local", "browser", "language")
    app.language = language if isinstance(language, str) else None
    device = session.device
    device.name, device.brand, device.model = agent.device_name, agent.device_brand, agent.device_model
    device.type, device.touch, device.ip = agent.device_type, agent.touch, ip
    _override_device(session, context.get("device"))
    _fill_screen(session, _dig(context, "screen", "local"))
    session.metadata.channel = channel or None
    if ip:
        session.context["ip"] = ip


def _override_device(session: Session, device: Any) -> None:
    if not isinstance(device, dict):
        return
    for key in ("name", "brand", "model", "type"):
        value = device.get(key)
        if isinstance(value, str) and value:
            setattr(session.device, key, value)


def _fill_screen(session: Session, screen: Any) -> None:
    if not isinstance(screen, dict):
        return
    width, height = screen.get("width"), screen.get("height")
    if isinstance(width, int | float) and isinstance(height, int | float):
        session.device.resolution = f"{int(width)}x{int(height)}"
        session.app.resolution = session.device.resolution
    depth = screen.get("colorDepth")
    if isinstance(depth, int):
        session.device.color_depth = depth
    orientation = screen.get("orientation")
    if isinstance(orientation, str):
        session.device.orientation = orientation


def take_utm(session: Session, context: dict[str, Any]) -> bool:
    """Copy ``context.utm`` into an empty session utm (and drop it from the context); True if copied."""
    utm = context.get("utm")
    if not isinstance(utm, dict):
        return False
    context.pop("utm", None)
    if any(getattr(session.utm, key) for key in _UTM_KEYS):
        return False
    for key in _UTM_KEYS:
        value = utm.get(key)
        if isinstance(value, str | int | float) and value != "":
            setattr(session.utm, key, str(value))
    return True


def timezone_of(context: dict[str, Any]) -> str | None:
    tz = _dig(context, "time", "tz")
    return tz if isinstance(tz, str) and tz else None


def merge_context(session: Session, context: dict[str, Any], properties: dict[str, Any]) -> bool:
    """Shallow-merge the payload's context and properties into the session; True if anything changed."""
    changed = False
    for target, incoming in ((session.context, context), (session.properties, properties)):
        for key, value in incoming.items():
            if target.get(key, _ABSENT) != value:
                target[key] = value
                changed = True
    return changed


_ABSENT = object()
