"""Shared Logger/Tracer/Metrics and the error translation every task uses.

Idempotency (and its DynamoDB client) lives in ``handlers.idempotency``: only the tasks with side
effects that a retry must not repeat import it, so the others start faster.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from botocore.exceptions import ClientError
from pydantic import ValidationError

from hivemind import constants
from hivemind.adapters.aws import is_throttling
from hivemind.errors import HiveMindError, InvalidInput, TransientError

logger = Logger(service=constants.SERVICE)
# Only botocore is patched: AWS calls are what a trace should show, and patching everything would
# import (at cold start) whichever HTTP libraries happen to be installed, just to instrument them.
tracer = Tracer(service=constants.SERVICE, patch_modules=("botocore",))
metrics = Metrics(namespace="HiveMind", service=constants.SERVICE)


def lambda_errors(fn: Callable[[dict, Any], Any]) -> Callable[[dict, Any], Any]:
    """Raise HiveMind errors with a JSON message so Step Functions' Catch keeps the remediation.

    Lambda reports ``errorType`` = the class name (what ASL Retry/Catch match) and ``errorMessage``
    = ``str(exc)``; the record-failure task decodes the JSON back (``logic.failure.parse_catch``).
    A pydantic ValidationError of the input becomes InvalidInput.
    """

    @wraps(fn)
    def wrapper(event: dict, context: Any) -> Any:
        try:
            return fn(event, context)
        except HiveMindError as exc:
            logger.warning("task failed", extra={"error_type": exc.type, "error_message": exc.message})
            raise type(exc)(json.dumps(exc.to_dict(), default=str), remediation=exc.remediation,
                            stage=exc.stage, context=exc.context) from None
        except ClientError as exc:
            if not is_throttling(exc):
                raise
            err = TransientError(f"AWS throttled or failed transiently: {exc}")
            raise TransientError(json.dumps(err.to_dict(), default=str)) from None
        except ValidationError as exc:
            err = InvalidInput(f"invalid task input: {exc.errors(include_url=False)[:3]}")
            raise InvalidInput(json.dumps(err.to_dict(), default=str)) from None

    return wrapper

