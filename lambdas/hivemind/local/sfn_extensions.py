"""moto Step Functions: make the ``states:startExecution`` service integration work.

moto behaviour adapted (5.2.5): its ASL interpreter (ported from LocalStack) leaves
``StateTaskService._normalise_parameters`` / ``_normalise_response`` as stubs, so the
Step Functions integration hands ASL-cased parameters (``StateMachineArn``, ``Input``) straight
to botocore, which rejects them, and returns a response with a ``datetime`` that the interpreter
cannot put into the state's JSON. It also names a child execution "None" when ASL gives no
``Name`` (AWS generates one), so a second retry would collide. retry.asl.json needs all three.

The fix converts parameters to botocore's shapes with the interpreter's own ``_to_boto_request``,
names unnamed executions, and turns the response into the ASL casing (``ExecutionArn``,
``StartDate`` as an ISO string), as Step Functions does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import botocore.session

_service_models: dict[str, Any] = {}


def _operation(service: str, action: str) -> Any:
    """The botocore operation model whose snake_case name is ``action`` (e.g. start_execution)."""
    if service not in _service_models:
        _service_models[service] = botocore.session.get_session().get_service_model(service)
    model = _service_models[service]
    for name in model.operation_names:
        if _snake(name) == action:
            return model.operation_model(name)
    raise KeyError(f"{service} has no operation {action}")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _isoformat_dates(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _isoformat_dates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_isoformat_dates(v) for v in value]
    return value


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
        StateTaskServiceSfn,
    )

    if getattr(StateTaskServiceSfn, "_hivemind_patched", False):
        return
    original_parameters = StateTaskServiceSfn._normalise_parameters

    def normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        original_parameters(self, parameters, boto_service_name=boto_service_name,
                            service_action_name=service_action_name)
        action = self._get_boto_service_action(service_action_name)
        operation = _operation(self._get_boto_service_name(boto_service_name), action)
        self._to_boto_request(parameters, operation.input_shape)
        if action == "start_execution" and not parameters.get("name"):
            parameters["name"] = uuid.uuid4().hex

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        if not isinstance(response, dict):
            return
        operation = _operation(self._get_boto_service_name(boto_service_name),
                               self._get_boto_service_action(service_action_name))
        converted = _isoformat_dates(response)
        response.clear()
        response.update(converted)
        if operation.output_shape is not None:
            self._from_boto_response(response, operation.output_shape)

    StateTaskServiceSfn._normalise_parameters = normalise_parameters
    StateTaskServiceSfn._normalise_response = normalise_response
    StateTaskServiceSfn._hivemind_patched = True


LOCAL_CLOUD_STOPPED = "LocalCloudStopped"


def abort_interrupted(cause: str) -> list[str]:
    """After a restore: executions that were RUNNING when the local cloud stopped are ABORTED.

    Their worker threads died with the process that ran them; nothing will ever advance them.
    Step Functions reports an execution stopped from outside as ABORTED with the error and
    cause given to StopExecution: here ``LocalCloudStopped`` and ``cause``.
    """
    from datetime import UTC

    from moto.stepfunctions.models import stepfunctions_backends
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    aborted = []
    now = datetime.now(UTC)
    accounts = list(dict.values(stepfunctions_backends)) + list(dict.values(stepfunctions_parser_backends))
    for account in accounts:
        for backend in list(dict.values(account)):
            for machine in list(backend.state_machines):
                for execution in list(machine.executions):
                    status = getattr(execution, "exec_status", None)
                    if status == ExecutionStatus.RUNNING or getattr(execution, "status", None) == "RUNNING":
                        if hasattr(execution, "exec_status"):
                            execution.exec_status = ExecutionStatus.ABORTED
                        else:
                            execution.status = "ABORTED"
                        execution.stop_date = now
                        execution.error = LOCAL_CLOUD_STOPPED
                        execution.cause = cause
                        aborted.append(execution.execution_arn)
    return aborted
