"""User-agent parsing into the session's os, app and device, cached per user-agent string."""

from __future__ import annotations

from functools import lru_cache

import msgspec
from ua_parser import parse

_TABLETS = ("ipad", "tablet", "kindle", "nexus 7", "nexus 9", "nexus 10", "sm-t", "tab")
_MOBILE_OS = ("android", "ios", "windows phone", "blackberry os", "kaios")
_BOT_WORDS = ("bot", "spider", "crawl", "slurp", "curl", "wget", "python-requests", "headless")


class ParsedAgent(msgspec.Struct, frozen=True, kw_only=True):
    """What a user-agent string tells about the visitor's software and device."""

    os_name: str | None = None
    os_version: str | None = None
    app_name: str | None = None
    app_version: str | None = None
    device_name: str | None = None
    device_brand: str | None = None
    device_model: str | None = None
    device_type: str | None = None
    touch: bool = False
    bot: bool = False


def _version(*parts: str | None) -> str | None:
    present = [p for p in parts if p]
    return ".".join(present) if present else None


def _device_type(ua_lower: str, os_name: str | None, device_family: str | None) -> str:
    family = (device_family or "").lower()
    if any(word in family or word in ua_lower for word in _TABLETS if word != "tab") or "ipad" in ua_lower:
        return "tablet"
    if "mobile" in ua_lower or (os_name or "").lower() in _MOBILE_OS:
        return "mobile"
    return "pc"


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> ParsedAgent:
    """Parse a user-agent string (cached: a site sees few distinct ones)."""
    if not user_agent:
        return ParsedAgent()
    result = parse(user_agent[:1024])
    ua, os, device = result.user_agent, result.os, result.device
    lower = user_agent.lower()
    bot = (device is not None and device.family == "Spider") or any(word in lower for word in _BOT_WORDS)
    os_name = os.family if os else None
    dtype = "bot" if bot else _device_type(lower, os_name, device.family if device else None)
    return ParsedAgent(
        os_name=os_name,
        os_version=_version(os.major, os.minor, os.patch) if os else None,
        app_name=ua.family if ua else None,
        app_version=_version(ua.major, ua.minor, ua.patch) if ua else None,
        device_name=device.family if device else ("Other" if not bot else "Bot"),
        device_brand=device.brand if device else None,
        device_model=device.model if device else None,
        device_type=dtype,
        touch=dtype in ("mobile", "tablet"),
        bot=bot,
    )
