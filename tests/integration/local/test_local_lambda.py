"""Lambda dispatch: real state machine executions call real handler functions in the server process."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hivemind.local import control_plane
from hm_local_testkit import wait_for

pytestmark = pytest.mark.slow


def _function(aws: Callable[[str], Any], handler: str, timeout: int = 30) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("placeholder.txt", "handlers are imported from the server's path")
    name = f"hm-test-{uuid.uuid4().hex[:8]}"
    return aws("lambda").create_function(
        FunctionName=name, Runtime="python3.12", Role=control_plane.role_arn(control_plane.LAMBDA_ROLE),
        Handler=handler, Code={"ZipFile": buf.getvalue()}, Timeout=timeout, MemorySize=256,
    )["FunctionArn"]


def _execute(aws: Callable[[str], Any], definition: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    sfn = aws("stepfunctions")
    machine = sfn.create_state_machine(name=f"hm-test-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                       roleArn=control_plane.role_arn(control_plane.LAMBDA_ROLE))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex,
                                    input=json.dumps(payload))["executionArn"]
    result = wait_for(lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                      60, "the execution to finish")
    result["history"] = sfn.get_execution_history(executionArn=execution)["events"]
    return result


def test_a_task_runs_the_handler_with_a_lambda_context(aws: Callable[[str], Any]) -> None:
    arn = _function(aws, "hm_local_test_handlers.echo")
    result = _execute(aws, {"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": arn, "End": True}}},
                      {"hello": "world"})
    assert result["status"] == "SUCCEEDED"
    output = json.loads(result["output"])
    assert output["event"] == {"hello": "world"}
    assert output["invoked_function_arn"] == arn
    assert output["function_name"] == arn.rsplit(":", 1)[1]
    assert output["memory_limit_in_mb"] == 256
    assert 0 < output["remaining_ms"] <= 30_000
    assert output["log_group_name"] == f"/aws/lambda/{output['function_name']}"
    assert len(output["aws_request_id"]) == 36


def test_a_handler_exception_is_caught_by_its_class_name(aws: Callable[[str], Any]) -> None:
    arn = _function(aws, "hm_local_test_handlers.fail")
    definition = {
        "StartAt": "Provision",
        "States": {
            "Provision": {"Type": "Task", "Resource": arn, "ResultPath": "$.error",
                          "Catch": [{"ErrorEquals": ["StackFailed"], "ResultPath": "$.error", "Next": "Caught"}],
                          "End": True},
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    result = _execute(aws, definition, {"stack": "hm-x", "why": "quota"})
    assert result["status"] == "SUCCEEDED"
    caught = json.loads(result["output"])["error"]
    assert caught["Error"] == "StackFailed"
    cause = json.loads(caught["Cause"])
    assert cause["errorType"] == "StackFailed"
    assert cause["errorMessage"] == "stack hm-x failed: quota"
    failed = [e for e in result["history"] if e["type"] == "LambdaFunctionFailed"]
    assert failed and failed[0]["lambdaFunctionFailedEventDetails"]["error"] == "StackFailed"
    assert [e["type"] for e in result["history"]].count("PassStateEntered") == 1


def test_retry_matches_the_error_class_and_succeeds(aws: Callable[[str], Any], tmp_path: Path) -> None:
    arn = _function(aws, "hm_local_test_handlers.flaky")
    definition = {
        "StartAt": "Flaky",
        "States": {"Flaky": {"Type": "Task", "Resource": arn, "End": True,
                             "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 1,
                                        "MaxAttempts": 3, "BackoffRate": 1.0}]}},
    }
    result = _execute(aws, definition, {"counter": str(tmp_path / "count"), "succeed_on": 3})
    assert result["status"] == "SUCCEEDED", result.get("cause")
    assert json.loads(result["output"]) == {"attempts": 3}


def test_an_uncaught_handler_error_fails_the_execution_with_its_name(aws: Callable[[str], Any]) -> None:
    arn = _function(aws, "hm_local_test_handlers.fail")
    result = _execute(aws, {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}, {})
    assert result["status"] == "FAILED"
    assert result["error"] == "StackFailed"


def test_a_missing_handler_module_is_an_import_error(aws: Callable[[str], Any]) -> None:
    arn = _function(aws, "hm_no_such_module.handler")
    response = aws("lambda").invoke(FunctionName=arn, Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "hm_no_such_module" in payload["errorMessage"]


def test_a_handler_past_its_timeout_fails_like_lambda(aws: Callable[[str], Any]) -> None:
    arn = _function(aws, "hm_local_test_handlers.sleepy", timeout=1)
    response = aws("lambda").invoke(FunctionName=arn, Payload=json.dumps({"seconds": 3}).encode())
    assert response["FunctionError"] == "Unhandled"
    payload = json.loads(response["Payload"].read())
    assert payload["errorType"] == "Sandbox.Timedout"
    assert "timed out after 1.00 seconds" in payload["errorMessage"]
