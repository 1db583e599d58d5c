"""Validate task: check the request, create or load the deployment, choose where to start."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.ports import default_ports
from hivemind.logic.validate import validate
from hivemind.models.tasks import DeployRequest


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    request = DeployRequest.model_validate(event.get("request", event))
    return validate(request, default_ports(), execution_id=event.get("execution_id", "")).model_dump(mode="json")
