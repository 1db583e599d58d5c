"""Sweep task: list HiveMind-tagged resources no live deployment owns (HiveMind Janitor).

Only lists and emits ``Orphans Found`` unless ``HIVEMIND_SWEEP_DELETE`` is true.
"""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.orphans import sweep
from hivemind.logic.ports import default_ports


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    return sweep(default_ports()).model_dump(mode="json")
