"""Fault points across the pipeline: each makes one call fail in the local cloud and checks that the
deployment ends in a defined state within the bound, with the error, remediation and the Medic's
rule recorded, and that destroy leaves nothing (tagged resources, app processes, sandbox files).

How each fault is made:
- Lambda faults (``{"function": ...}``): the in-process Lambda runtime answers with the error, as
  Lambda does for an unhandled exception or a timeout; ``"when": "after"`` lets the task do its work
  first (a late crash or timeout, so the stage it entered is the one recorded).
- API faults (``{"service": ..., "action": ...}``): the emulator's HTTP layer answers that call with
  the error in the protocol's format, so botocore raises the same ClientError (after its own retries)
  as against AWS.
- App faults: real apps that fail (a missing dependency, a hanging release step, a crash, the wrong
  port or interface, a 500 on ``/``) - nothing is simulated.
"""

from __future__ import annotations

import pytest
from fault_harness import APPS, BROKEN, FaultPoint, run_point

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

GO = APPS / "go-ok"

POINTS: list[FaultPoint] = [
    FaultPoint(
        "validate-crash", "validate", GO,
        setup=({"function": "hivemind-validate", "error": "KeyError", "message": "'options'", "when": "after"},),
        expect_rule="task-crashed", expect_type="KeyError",
    ),
    FaultPoint(
        "analyze-timeout", "analyze", GO,
        setup=({"function": "hivemind-analyze", "error": "Sandbox.Timedout",
                "message": "Task timed out after 900.00 seconds", "when": "after"},),
        expect_rule="task-timed-out", expect_type="Sandbox.Timedout", expect_text="timed out",
    ),
    FaultPoint(
        "plan-over-budget", "plan", GO, options={"budget_usd": 1},
        expect_rule="budget-exceeded", expect_type="BudgetExceeded",
    ),
    FaultPoint(
        "provision-access-denied", "provision", GO,
        setup=({"service": "cloudformation", "action": "CreateChangeSet", "error": "AccessDenied", "status": 403,
                "message": "User: arn:aws:sts::123456789012:assumed-role/hivemind-provision/x is not authorized "
                           "to perform: cloudformation:CreateChangeSet"},),
        expect_rule="stack-access-denied", expect_text="AccessDenied",
    ),
    FaultPoint(
        "provision-limit-exceeded", "provision", GO,
        setup=({"service": "cloudformation", "action": "CreateChangeSet", "error": "LimitExceededException",
                "times": -1, "message": "Limit for number of stacks (2000) exceeded"},),
        expect_rule="stack-limit-exceeded", expect_text="LimitExceededException",
    ),
    FaultPoint(
        # The first DescribeStacks (Provision reads the stack before its change set) is throttled for all
        # of botocore's 9 attempts (max_attempts 8 retries + the first) -> TransientError -> the ASL Retry
        # runs Provision again -> it succeeds. (Targeting CheckStack with "skip" would depend on how many
        # DescribeStacks calls Provision makes, which is not this test's business.)
        "provision-throttled-once", "provision", GO,
        setup=({"service": "cloudformation", "action": "DescribeStacks", "error": "Throttling",
                "message": "Rate exceeded", "times": 9},),
        expect_status="succeeded", expect_retry_in="Provision",
    ),
    FaultPoint(
        # Step Functions -> Lambda throttling that never stops: the ASL Retry gives up after its attempts.
        "check-stack-throttled-always", "provision", GO,
        setup=({"function": "hivemind-check-stack", "error": "Lambda.TooManyRequestsException",
                "message": "Rate Exceeded.", "times": -1},),
        expect_rule="throttled", expect_type="Lambda.TooManyRequestsException",
    ),
    FaultPoint(
        "deploy-missing-dependency", "deploy", APPS / "py-missing-dep",
        expect_rule="dependency-install-failed", expect_type="CommandFailed",
        expect_text="hivemind-fault-no-such-package",
    ),
    FaultPoint(
        "deploy-command-hangs", "deploy", APPS / "py-hang", options={"command_timeout_s": 30},
        expect_rule="command-timed-out", expect_type="CommandTimeout",
    ),
    FaultPoint(
        "deploy-app-exits", "deploy", BROKEN / "crash-on-start",
        expect_rule="app-exited", expect_type="CommandFailed", expect_text="app_exited",
    ),
    FaultPoint(
        "deploy-wrong-port", "deploy", BROKEN / "wrong-port",
        expect_rule="wrong-port", expect_type="CommandFailed", expect_text="port_mismatch",
    ),
    FaultPoint(
        "deploy-binds-localhost", "deploy", BROKEN / "localhost-only",
        expect_rule="binds-localhost", expect_type="CommandFailed", expect_text="bind_mismatch",
    ),
    FaultPoint(
        "harden-crash", "harden", GO,
        setup=({"function": "hivemind-harden", "error": "RuntimeError",
                "message": "harden task crashed after sending its command", "when": "after"},),
        expect_rule="task-crashed", expect_type="RuntimeError",
    ),
    FaultPoint(
        "verify-root-500", "verify", APPS / "py-root-500",
        expect_rule="health-5xx", expect_type="HealthCheckFailed", expect_text="500",
    ),
]


def test_the_points_are_distinct() -> None:
    assert len({p.id for p in POINTS}) == len(POINTS) >= 12
    assert len({(p.stage, p.expect_rule, p.expect_status) for p in POINTS}) == len(POINTS)


@pytest.mark.parametrize("point", POINTS, ids=[p.id for p in POINTS])
def test_fault_point(fault_target, point: FaultPoint) -> None:
    run_point(fault_target, point)
