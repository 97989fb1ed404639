"""Bridge sources over the admin API: a config the bridge could not use is refused with 422 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Running


def _source(config: Any, kind: str = "rabbitmq") -> dict[str, Any]:
    return {"id": "orders-queue", "type": [kind], "config": config}


@pytest.mark.parametrize(
    ("config", "loc", "says"),
    [
        ({"queue": "orders", "prefetch": "many"}, ["body", "config", "prefetch"], "Expected `int`, got `str`"),
        ({}, ["body", "config"], "missing required field `queue`"),
        ({"queue": "orders", "prefech": 5}, ["body", "config"], "unknown field `prefech`"),
        ({"queue": "orders", "mapping": {"data": "x"}}, ["body", "config", "mapping"], "unknown field `data`"),
        ({"queue": "orders", "concurrency": 0}, ["body", "config"], "`concurrency` must be at least 1"),
        ({"queue": "orders", "x": {"a": {"b": {"c": [1] * 1000}}}}, ["body", "config"], "unknown field `x`"),
    ],
)
async def test_a_bridge_config_that_cannot_work_is_refused_naming_the_field(
    server: Running, config: dict[str, Any], loc: list[str], says: str
) -> None:
    for method, path in (("POST", "/api/sources"), ("PUT", "/api/sources/orders-queue")):
        r = await server.client.request(method, path, json=_source(config), headers=server.admin)
        assert r.status_code == 422, r.text
        [error] = r.json()["errors"]
        assert error["loc"] == loc
        assert says in error["msg"]
    assert (await server.client.get("/api/sources/orders-queue", headers=server.admin)).status_code == 404


async def test_a_good_bridge_source_is_saved_and_a_plain_source_is_not_checked(server: Running) -> None:
    r = await server.client.post("/api/sources", json=_source({"queue": "orders"}), headers=server.admin)
    assert r.status_code == 201, r.text
    assert r.json()["config"] == {"queue": "orders"}
    plain = {"id": "web", "type": ["rest"], "config": {"anything": 1}}
    assert (await server.client.post("/api/sources", json=plain, headers=server.admin)).status_code == 201
