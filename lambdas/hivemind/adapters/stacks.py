"""CloudFormation: the application's stack, created and updated through change sets."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from botocore.exceptions import ClientError, WaiterError
from pydantic import BaseModel, Field

from hivemind.adapters.aws import client, error_code

IN_PROGRESS_SUFFIX = "_IN_PROGRESS"
FAILED_STATES = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_ROLLBACK_COMPLETE",
        "UPDATE_ROLLBACK_FAILED",
        "UPDATE_FAILED",
        "IMPORT_ROLLBACK_COMPLETE",
        "IMPORT_ROLLBACK_FAILED",
    }
)
COMPLETE_STATES = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})


class StackEvent(BaseModel):
    logical_id: str
    type: str
    status: str
    reason: str | None = None


class StackStatus(BaseModel):
    name: str
    status: str  # "DOES_NOT_EXIST" when absent
    reason: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    failure_events: list[StackEvent] = Field(default_factory=list)

    @property
    def in_progress(self) -> bool:
        return self.status.endswith(IN_PROGRESS_SUFFIX)

    @property
    def busy(self) -> bool:
        """An operation is running on it. REVIEW_IN_PROGRESS is not one: a stack that only holds a
        change set never executed (a provision that died in between) rests there and takes a new one."""
        return self.in_progress and self.status != "REVIEW_IN_PROGRESS"

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATES

    @property
    def complete(self) -> bool:
        return self.status in COMPLETE_STATES


class CloudFormationStacks:
    def __init__(self, region: str | None = None, role_arn: str = "") -> None:
        self.region = region
        self.role_arn = role_arn

    @property
    def _cfn(self) -> Any:
        return client("cloudformation", self.region)

    def status(self, name: str) -> StackStatus:
        try:
            stack = self._cfn.describe_stacks(StackName=name)["Stacks"][0]
        except ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
                return StackStatus(name=name, status="DOES_NOT_EXIST")
            raise
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
        status = StackStatus(
            name=name, status=stack["StackStatus"], reason=stack.get("StackStatusReason"), outputs=outputs
        )
        if status.failed or "ROLLBACK" in status.status:
            status.failure_events = self.failure_events(name)
        return status

    def failure_events(self, name: str, limit: int = 10) -> list[StackEvent]:
        events = self._cfn.describe_stack_events(StackName=name).get("StackEvents", [])
        failed = [e for e in events if e.get("ResourceStatus", "").endswith("_FAILED")]
        return [
            StackEvent(
                logical_id=e.get("LogicalResourceId", ""),
                type=e.get("ResourceType", ""),
                status=e["ResourceStatus"],
                reason=e.get("ResourceStatusReason"),
            )
            for e in failed[:limit]
        ]

    def apply(self, name: str, template: dict[str, Any], *, tags: dict[str, str], token: str) -> str:
        """Create and execute a change set (CREATE or UPDATE). Returns "executed" or "no_changes".

        ``token`` makes a retried call idempotent: the change set is named after it, and
        CloudFormation refuses a second execution with the same ClientRequestToken.
        """
        current = self.status(name)
        kind = "CREATE" if current.status in {"DOES_NOT_EXIST", "REVIEW_IN_PROGRESS"} else "UPDATE"
        change_set = f"hm-{token}"[:128]
        extra: dict[str, Any] = {"RoleARN": self.role_arn} if self.role_arn else {}
        try:
            self._cfn.create_change_set(
                **extra,
                StackName=name,
                ChangeSetName=change_set,
                ChangeSetType=kind,
                TemplateBody=json.dumps(template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
                ClientToken=token[:128],
            )
        except ClientError as exc:
            if error_code(exc) != "AlreadyExistsException":
                raise
        described = self._wait_change_set(name, change_set)
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason") or ""
            if "didn't contain changes" in reason or "No updates" in reason:
                self._cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
                return "no_changes"
            from hivemind.errors import StackFailed

            raise StackFailed(f"change set for {name} failed: {reason}", context={"change_set": change_set})
        if described.get("ExecutionStatus") == "AVAILABLE":
            self._cfn.execute_change_set(StackName=name, ChangeSetName=change_set, ClientRequestToken=token[:128])
        return "executed"

    def _wait_change_set(self, name: str, change_set: str) -> dict[str, Any]:
        # Change-set creation takes seconds; botocore's waiter polls with its own bound. A
        # FAILED change set makes the waiter raise, so describe afterwards either way.
        with contextlib.suppress(WaiterError):  # a FAILED change set: the describe below says why
            self._cfn.get_waiter("change_set_create_complete").wait(
                StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
            )
        return self._cfn.describe_change_set(StackName=name, ChangeSetName=change_set)

    def delete(self, name: str, *, retain: list[str] | None = None, token: str | None = None) -> None:
        kwargs: dict[str, Any] = {"StackName": name}
        if retain:
            kwargs["RetainResources"] = retain
        if token:
            kwargs["ClientRequestToken"] = token[:128]
        self._cfn.delete_stack(**kwargs)

    def delete_failed_resources(self, name: str) -> list[dict[str, str]]:
        """The resources whose last event is DELETE_FAILED (what DeleteStack may retain)."""
        events = self._cfn.describe_stack_events(StackName=name).get("StackEvents", [])  # newest first
        latest: dict[str, dict[str, str]] = {}
        for e in events:
            logical_id = e.get("LogicalResourceId", "")
            if logical_id and logical_id != name and logical_id not in latest:
                latest[logical_id] = {"logical_id": logical_id, "physical_id": e.get("PhysicalResourceId", ""),
                                      "type": e.get("ResourceType", ""), "status": e.get("ResourceStatus", ""),
                                      "reason": e.get("ResourceStatusReason") or ""}
        return [r for r in latest.values() if r["status"] == "DELETE_FAILED" and r["type"] !=
                "AWS::CloudFormation::Stack"]

    def continue_update_rollback(self, name: str) -> None:
        self._cfn.continue_update_rollback(StackName=name)

    def resources(self, name: str) -> list[dict[str, str]]:
        try:
            res = self._cfn.describe_stack_resources(StackName=name)["StackResources"]
        except ClientError:
            return []
        return [
            {
                "logical_id": r["LogicalResourceId"],
                "physical_id": r.get("PhysicalResourceId", ""),
                "type": r["ResourceType"],
                "status": r.get("ResourceStatus", ""),
            }
            for r in res
        ]
