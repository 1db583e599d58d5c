"""Fault injection at the emulator's HTTP layer (tests only). Filled in by the fault-injection work."""

from __future__ import annotations

from typing import Any


def wrap(app: Any) -> Any:
    """Wrap the emulator's WSGI app so chosen AWS API calls can be made to fail."""
    return app
