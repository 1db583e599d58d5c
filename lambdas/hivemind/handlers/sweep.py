"""Sweep task: list HiveMind-tagged resources whose deployment is destroyed or unknown."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.destroy import sweep
from hivemind.logic.ports import default_ports


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    orphans = sweep(default_ports())
    return {"count": len(orphans), "orphans": [o.model_dump(mode="json") for o in orphans]}
