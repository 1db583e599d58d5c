"""Build ErrorEntry objects the way the pipeline records them (same message and context shapes).

Each helper copies the code that raises the error in production: logic/deploy.py's
``_command_error``, logic/verify.py, logic/provision.py's ``check_stack`` and
logic/failure.py's ``parse_catch`` for a crashed task.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hivemind.logic.deploy import ERROR_LINE, TAIL_LINES, _tail
from hivemind.logic.failure import parse_catch
from hivemind.models import ErrorEntry

OUTPUTS = Path(__file__).parent / "outputs"


def output(name: str) -> str:
    return (OUTPUTS / name).read_text()


def command(text: str, kind: str | None = None, *, type_: str = "CommandFailed", stage: str = "deploy",
            status: str = "Failed") -> ErrorEntry:
    """A failed SSM command: ``kind`` is the HIVEMIND_ERROR kind the script printed (read from ``text``)."""
    found = list(ERROR_LINE.finditer(text))
    kind = kind or (found[-1].group("kind") if found else "command_failed")
    message = found[-1].group("message") if found else f"command ended {status} (exit 1)"
    context = {"command_id": "c-1", "instance_id": "i-0abc", "status": status, "exit_code": 1,
               "signature": kind, "output_tail": _tail(text, TAIL_LINES)}
    return ErrorEntry(deployment_id="shop-1a2b", stage=stage, type=type_,
                      message=f"deploy failed on i-0abc: {kind}: {message}", context=context, remediation="r")


def script(kind: str, message: str, log: str = "") -> str:
    """install-release.sh's failure output: the error line, the log excerpt, the error line again."""
    line = f"HIVEMIND_ERROR {kind}: {message}"
    if not log:
        return line + "\n"
    return f"{line}\n----- last 30 lines of /var/log/hivemind/shop/app.log -----\n{log}\n-----\n{line}\n"


def health(signature: str, *, status: int | None, error: str | None = None, body: str = "",
           targets: list[dict[str, Any]] | None = None) -> ErrorEntry:
    url = "http://hm-shop-alb-1.us-east-1.elb.amazonaws.com/health"
    seen = f"HTTP {status}" if status else (error or "no answer")
    return ErrorEntry(
        deployment_id="shop-1a2b", stage="verify", type="HealthCheckFailed",
        message=f"GET {url} -> {seen} after 30 probes",
        context={"url": url, "last_status": status, "last_error": error, "last_body": body[:500],
                 "targets": targets or [], "signature": signature},
        remediation="r",
    )


def stack(status: str, reason: str, *, logical_id: str = "Vpc", rtype: str = "AWS::EC2::VPC",
          stage: str = "provision", type_: str = "StackFailed") -> ErrorEntry:
    events = [{"logical_id": logical_id, "type": rtype, "status": "CREATE_FAILED", "reason": reason}]
    verb = "could not be deleted" if stage == "destroy" else f"is {status}"
    return ErrorEntry(
        deployment_id="shop-1a2b", stage=stage, type=type_,
        message=f"stack hm-shop-1a2b {verb}: {logical_id} ({rtype}): {reason}",
        context={"status": status, "events": events}, remediation="r",
    )


def caught(error_type: str, message: str, *, stage: str = "provision", hivemind: bool = False,
           context: dict[str, Any] | None = None) -> ErrorEntry:
    """What record_failure stores for an ASL Catch of ``error_type`` (a crash, a timeout, a HiveMind error)."""
    if hivemind:
        inner = json.dumps({"type": error_type, "stage": stage, "message": message, "remediation": "r",
                            "context": context or {}})
        cause = json.dumps({"errorType": error_type, "errorMessage": inner})
    else:
        cause = json.dumps({"errorType": error_type, "errorMessage": message})
    parsed = parse_catch({"Error": error_type, "Cause": cause})
    return ErrorEntry(deployment_id="shop-1a2b", stage=parsed["stage"] or stage, type=parsed["type"],
                      message=parsed["message"], context=parsed["context"], remediation=parsed["remediation"])


def client_error(code: str, message: str, operation: str) -> str:
    """botocore's ClientError text."""
    return f"An error occurred ({code}) when calling the {operation} operation: {message}"
