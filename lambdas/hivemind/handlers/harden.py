"""Harden task: close network paths that must not exist and run the OS hardening document.

Idempotent on execution id: a retry does not send the document twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.idempotency import idempotent_function

from hivemind.handlers.common import lambda_errors, logger, metrics, tracer
from hivemind.handlers.idempotency import idempotency
from hivemind.logic.harden import harden
from hivemind.logic.ports import default_ports
from hivemind.models.tasks import TaskInput

_store, _config = idempotency()


@idempotent_function(data_keyword_argument="task", persistence_store=_store, config=_config)
def _harden_once(task: TaskInput) -> dict:
    return harden(task.deployment_id, default_ports()).model_dump(mode="json")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@lambda_errors
def lambda_handler(event: dict, context: Any) -> dict:
    _config.register_lambda_context(context)
    return _harden_once(task=TaskInput.model_validate(event))
