"""The cleanup timer, emulated: fire due EventBridge Scheduler schedules. Filled in by the timer work."""

from __future__ import annotations

from typing import Any


def start(ctx: Any) -> None:
    """Start firing due one-time schedules (the cleanup timers) in a background thread."""


def stop() -> None:
    """Stop the background thread."""
