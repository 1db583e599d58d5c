"""Destroy task: start deleting the stack, or finish by proving nothing tagged remains."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.destroy import destroy_finish, destroy_start
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import DestroyInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = DestroyInput.model_validate(event)
    ports = default_ports()
    if task.action == "start":
        return destroy_start(task.deployment_id, task.execution_id, ports,
                             skip_snapshot=task.skip_snapshot).model_dump(mode="json")
    return destroy_finish(task.deployment_id, ports).model_dump(mode="json")
