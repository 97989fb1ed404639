"""User-agent parsing into session os/app/device."""

from __future__ import annotations

import pytest

from tracardi.engine.useragent import parse_user_agent


@pytest.mark.parametrize(
    ("ua", "os_name", "app", "dtype", "bot"),
    [
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
            "Safari/537.36",
            "Windows",
            "Chrome",
            "pc",
            False,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 "
            "Mobile/15E148 Safari/604.1",
            "iOS",
            "Mobile Safari",
            "tablet",
            False,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0 Mobile "
            "Safari/537.36",
            "Android",
            "Chrome",
            "mobile",
            False,
        ),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", None, "Googlebot", "bot", True),
        ("", None, None, None, False),
    ],
)
def test_parse(ua: str, os_name: str | None, app: str | None, dtype: str | None, bot: bool) -> None:
    agent = parse_user_agent(ua)
    assert (agent.os_name, agent.app_name, agent.device_type, agent.bot) == (os_name, app, dtype, bot)
