"""Check-command task: one poll of an SSM Run Command on every target instance."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.deploy import check_command
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import CommandPollInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = CommandPollInput.model_validate(event)
    return check_command(
        task.deployment_id, task.command_id, task.instance_ids, task.polls, default_ports(), phase=task.phase
    ).model_dump(mode="json")
