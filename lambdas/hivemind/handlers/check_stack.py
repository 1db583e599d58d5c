"""Check-stack task: one poll of the stack (create/update or delete); the state machine waits."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.ports import default_ports
from hivemind.logic.provision import check_stack
from hivemind.models.tasks import StackPollInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = StackPollInput.model_validate(event)
    return check_stack(task.deployment_id, task.polls, default_ports(), deleting=task.deleting).model_dump(mode="json")
