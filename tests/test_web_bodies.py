"""Page bodies drawn once per set of figures and choices (issue 16: the overview and
question pages under load): joinedup.web.templating.cached_body."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from joinedup.web import templating
from joinedup.web.templating import cached_body


def _request(query: str = "", host: str = "testserver") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": (host, 80),
            "path": "/",
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", host.encode())],
            "app": None,
        }
    )


def _data(release: str, tier: str = "strategic") -> dict[str, Any]:
    return {
        "release": {"release_id": release, "partnership": "Test", "built_at": "2026-12-01"},
        "tier": tier,
        "persons": None,
        "changes": None,
        "exclusions": None,
    }


def test_a_body_is_drawn_once_for_the_same_figures_and_choices() -> None:
    templating._BODIES.clear()
    drawn: list[str] = []

    def body(request: Request, data: dict[str, Any]) -> str:
        def context() -> dict[str, Any]:
            drawn.append(data["release"]["release_id"])
            return {"data": data, "chart": None}

        return str(cached_body(request, "overview_body.html", {"data": data}, context))

    first = body(_request(), _data("R1"))
    assert "R1" in first and "Strategic tier" in first
    assert body(_request(), _data("R1")) == first
    assert drawn == ["R1"]  # the second came from memory
    # other figures, another tier, another query string or host: drawn again
    assert "R2" in body(_request(), _data("R2"))
    assert "Operational tier" in body(_request(), _data("R1", "operational"))
    body(_request("tier=community"), _data("R1"))  # its links carry ?tier=
    body(_request(host="other.example"), _data("R1"))
    assert drawn == ["R1", "R2", "R1", "R1", "R1"]


def test_figures_that_cannot_be_pickled_are_drawn_every_time() -> None:
    templating._BODIES.clear()
    drawn = []
    data = {**_data("R3"), "unpicklable": lambda: None}

    def context() -> dict[str, Any]:
        drawn.append(1)
        return {"data": data, "chart": None}

    for _ in range(2):
        cached_body(_request(), "overview_body.html", {"data": data}, context)
    assert len(drawn) == 2
    assert not templating._BODIES


def test_bodies_kept_are_bounded() -> None:
    templating._BODIES.clear()
    for i in range(templating.BODY_CAPACITY + 10):
        d = _data(f"R{i}")
        cached_body(_request(), "overview_body.html", {"data": d}, lambda d=d: {"data": d})
    assert len(templating._BODIES) == templating.BODY_CAPACITY
