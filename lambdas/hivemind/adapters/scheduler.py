"""EventBridge Scheduler: the one-time cleanup timer of a failed deployment."""

from __future__ import annotations

import json
from datetime import datetime

from botocore.exceptions import ClientError

from hivemind.adapters.aws import client, error_code


class CleanupScheduler:
    def __init__(self, group: str, role_arn: str, destroy_state_machine_arn: str, region: str | None = None) -> None:
        self.group = group
        self.role_arn = role_arn
        self.target_arn = destroy_state_machine_arn
        self.region = region

    def schedule_cleanup(self, deployment_id: str, at: datetime, action: str) -> None:
        """Create (or move) the schedule ``cleanup-<id>`` firing once at ``at`` (UTC).

        ``action`` "destroy" starts the destroy state machine; "remind" is recorded in the input
        and the destroy workflow is not started (the schedule still marks the deadline).
        """
        name = f"cleanup-{deployment_id}"[:64]
        kwargs = {
            "Name": name,
            "GroupName": self.group,
            "ScheduleExpression": f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "State": "ENABLED" if action == "destroy" else "DISABLED",
            "Target": {
                "Arn": self.target_arn,
                "RoleArn": self.role_arn,
                "Input": json.dumps({"deployment_id": deployment_id, "reason": "cleanup-timer"}),
            },
        }
        sched = client("scheduler", self.region)
        try:
            sched.create_schedule(**kwargs)
        except ClientError as exc:
            if error_code(exc) != "ConflictException":
                raise
            sched.update_schedule(**kwargs)
