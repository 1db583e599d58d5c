"""Rollback task: destroy a failed first deploy (auto-rollback)."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.ports import default_ports
from hivemind.logic.rollback import rollback
from hivemind.models.tasks import TaskInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = TaskInput.model_validate(event)
    return rollback(task.deployment_id, default_ports()).model_dump(mode="json")
