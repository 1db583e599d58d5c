"""Diagnose task: match the recorded error against the rule catalogue."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.failure import diagnose
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import DiagnoseInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = DiagnoseInput.model_validate(event)
    diagnosis = diagnose(task.deployment_id, default_ports(), auto_fix=task.auto_fix)
    return {"diagnosis": diagnosis.model_dump(mode="json") if diagnosis else None}
