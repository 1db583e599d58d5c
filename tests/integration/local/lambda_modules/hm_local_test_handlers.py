"""Handlers for the local cloud's Lambda dispatch tests (imported by the server process).

The server imports them through PYTHONPATH, exactly as it imports hivemind.handlers.*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hivemind.errors import StackFailed, TransientError


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Return the event and what the context says, so a test can check both arrive."""
    return {
        "event": event,
        "function_name": context.function_name,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group_name": context.log_group_name,
    }


def fail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise StackFailed(f"stack {event.get('stack', '?')} failed: {event.get('why', 'no reason')}")


def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fail with TransientError until the counter file (in the event) reaches event['succeed_on']."""
    counter = Path(event["counter"])
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt < int(event["succeed_on"]):
        raise TransientError(f"attempt {attempt} throttled")
    return {"attempts": attempt}


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run past the function's timeout."""
    import time

    time.sleep(float(event.get("seconds", 3)))
    return {"slept": True}
