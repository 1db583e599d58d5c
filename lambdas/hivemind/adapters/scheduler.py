"""EventBridge Scheduler: the one-time cleanup timer of a failed deployment."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from hivemind import constants
from hivemind.adapters.aws import client, error_code

ACTIONS = ("remind", "destroy")


def bus_arn_like(state_machine_arn: str, bus_name: str) -> str:
    """The event bus ARN in the same partition, region and account as ``state_machine_arn``."""
    parts = state_machine_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not a state machine ARN: {state_machine_arn!r}")
    return f"arn:{parts[1]}:events:{parts[3]}:{parts[4]}:event-bus/{bus_name}"


class CleanupScheduler:
    def __init__(self, group: str, role_arn: str, destroy_state_machine_arn: str, region: str | None = None,
                 *, event_bus_name: str = constants.EVENT_BUS_NAME) -> None:
        self.group = group
        self.role_arn = role_arn
        self.target_arn = destroy_state_machine_arn
        self.region = region
        self.event_bus_name = event_bus_name

    def target(self, deployment_id: str, action: str, at: datetime) -> dict[str, Any]:
        """What fires at the deadline.

        "destroy": StartExecution of the destroy state machine. "remind": a ``Cleanup Reminder``
        event on the HiveMind bus (Scheduler's templated EventBridge PutEvents target: the bus ARN,
        ``EventBridgeParameters`` DetailType/Source, the Input is the event's detail), for rules to
        notify people; nothing is deleted.
        """
        if action not in ACTIONS:
            raise ValueError(f"cleanup action {action!r} is not one of {ACTIONS}")
        payload = {"deployment_id": deployment_id, "reason": "cleanup-timer", "action": action,
                   "deadline": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if action == "destroy":
            return {"Arn": self.target_arn, "RoleArn": self.role_arn, "Input": json.dumps(payload)}
        payload["remediation"] = (f"Destroy it (`hivemind destroy {deployment_id} --yes`), or retry it "
                                  f"(`hivemind retry {deployment_id}`).")
        return {
            "Arn": bus_arn_like(self.target_arn, self.event_bus_name),
            "RoleArn": self.role_arn,
            "Input": json.dumps(payload),
            "EventBridgeParameters": {"DetailType": constants.EV_CLEANUP_REMINDER, "Source": constants.EVENT_SOURCE},
        }

    def schedule_cleanup(self, deployment_id: str, at: datetime, action: str) -> None:
        """Create (or move) the ENABLED schedule ``cleanup-<id>`` firing once at ``at`` (UTC).

        Scheduler deletes it after it fired (ActionAfterCompletion DELETE).
        """
        name = f"cleanup-{deployment_id}"[:64]
        kwargs = {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED",
            "Target": self.target(deployment_id, action, at),
        }
        sched = client("scheduler", self.region)
        try:
            sched.create_schedule(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "ConflictException":
                raise
            sched.update_schedule(**kwargs)
