"""Record-failure task: store the error with its remediation, mark the deployment failed."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.failure import record_failure
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import FailureInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = FailureInput.model_validate(event)
    return record_failure(task.deployment_id, task.error, default_ports(), task.execution_id).model_dump(mode="json")
