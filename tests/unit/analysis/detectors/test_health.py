"""D009 health path: a health route literal in the source, else "/"."""

from __future__ import annotations

import pytest

CASES = [
    ("app.get('/healthz', h); app.get('/health', h);", "/healthz"),
    ("router.get(\"/api/health\", h)", "/api/health"),
    ("app.get(`/health/`, h)", "/health"),
    ("app.get('/healthy-food', h)", "/"),
    ("// app.get('/health', h)", "/"),
    ("app.get('/', h)", "/"),
]


@pytest.mark.parametrize(("code", "path"), CASES)
def test_health_path(analyze, code, path) -> None:
    stack = analyze({"package.json": {}, "server.js": code + "\n"})
    assert stack.health_path == path
    assert stack.sources["health_path"] == ("server.js" if path != "/" else "default:health")
