"""Plan task: deployment plan, application template and monthly cost."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.plan import plan_stage
from hivemind.logic.ports import default_ports
from hivemind.models import TechStack
from hivemind.models.tasks import PlanInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = PlanInput.model_validate(event)
    request = task.request
    result = plan_stage(
        request.deployment_id,
        TechStack.model_validate(task.stack),
        default_ports(),
        what_if=request.what_if,
        preset=request.preset,
        region=request.region,
        budget_usd=request.options.budget_usd,
        command_timeout_s=request.options.command_timeout_s,
    )
    return result.model_dump(mode="json")
