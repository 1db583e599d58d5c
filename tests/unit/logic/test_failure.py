"""Decoding ASL Catch payloads into error entries, and the diagnosis rules."""

from __future__ import annotations

import json

import pytest
from hivemind.errors import CommandFailed, HealthCheckFailed, StackFailed
from hivemind.logic.diagnosis import diagnose_error
from hivemind.logic.failure import parse_catch
from hivemind.models import ErrorEntry


def _catch(exc: Exception) -> dict:
    """What Step Functions puts in ResultPath after Lambda raised what hivemind.handlers.common raises."""
    message = json.dumps(exc.to_dict())  # type: ignore[attr-defined]
    return {"Error": type(exc).__name__, "Cause": json.dumps({"errorType": type(exc).__name__,
                                                               "errorMessage": message})}


def test_hivemind_error_keeps_message_remediation_context() -> None:
    exc = StackFailed("stack hm-x is ROLLBACK_COMPLETE: Vpc: limit", context={"status": "ROLLBACK_COMPLETE"})
    parsed = parse_catch(_catch(exc))
    assert parsed["type"] == "StackFailed"
    assert parsed["message"].startswith("stack hm-x is ROLLBACK_COMPLETE")
    assert parsed["remediation"] == StackFailed.remediation
    assert parsed["context"] == {"status": "ROLLBACK_COMPLETE"}
    assert parsed["stage"] == "provision"


def test_foreign_error_gets_class_remediation_or_generic() -> None:
    parsed = parse_catch({"Error": "HealthCheckFailed", "Cause": "plain text"})
    assert parsed["message"] == "plain text" and parsed["remediation"] == HealthCheckFailed.remediation
    crash = parse_catch({"Error": "KeyError", "Cause": json.dumps({"errorMessage": "'x'", "errorType": "KeyError"})})
    assert crash["message"] == "'x'" and "retry" in crash["remediation"]


@pytest.mark.parametrize(
    ("signature", "lines", "rule"),
    [
        ("dependency_install_failed", ["ERROR: No matching distribution found for flsk"], "dependency-install-failed"),
        ("app_exited", ["Traceback (most recent call last):", "RuntimeError: boom"], "app-exited"),
        ("health_404", [], "health-404"),
        ("health_timeout", [], "health-timeout"),
        ("command_timed_out", [], "command-timed-out"),
        ("", ["ModuleNotFoundError: No module named 'flask'"], "module-not-found"),
    ],
)
def test_diagnosis_rules(signature: str, lines: list[str], rule: str) -> None:
    err = ErrorEntry(deployment_id="d-1", stage="deploy", type=CommandFailed.__name__, message="failed",
                     context={"signature": signature, "output_tail": lines}, remediation="r")
    diagnosis = diagnose_error(err)
    assert diagnosis is not None and diagnosis.rule == rule
    assert diagnosis.evidence


def test_unknown_failure_is_diagnosed_unknown_with_the_closest_rules() -> None:
    err = ErrorEntry(deployment_id="d-1", stage="deploy", type="CommandFailed", message="nothing known",
                     context={"signature": "command_failed"}, remediation="r")
    diagnosis = diagnose_error(err)
    assert diagnosis.rule == "unknown" and len(diagnosis.closest) == 3
