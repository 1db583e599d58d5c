"""Analyze task: clone the repository at one ref, detect the stack, publish the release."""

from __future__ import annotations

from typing import Any

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.logic.analyze import analyze
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import AnalyzeInput


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    task = AnalyzeInput.model_validate(event)
    return analyze(task.request, default_ports()).model_dump(mode="json")
