"""The cleanup timer is a one-time EventBridge Scheduler schedule that starts the destroy workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from hivemind.adapters.aws import client
from hivemind.adapters.scheduler import CleanupScheduler
from moto import mock_aws

DESTROY = "arn:aws:states:us-east-1:123456789012:stateMachine:hivemind-destroy"
ROLE = "arn:aws:iam::123456789012:role/hivemind-cleanup"


def test_schedule_is_created_once_and_moved_on_a_second_failure(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client.cache_clear()
    with mock_aws():
        sched = boto3.client("scheduler", region_name="us-east-1")
        sched.create_schedule_group(Name="hivemind-cleanup")
        timer = CleanupScheduler("hivemind-cleanup", ROLE, DESTROY, region="us-east-1")
        at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        timer.schedule_cleanup("app-123456", at, "destroy")
        got = sched.get_schedule(Name="cleanup-app-123456", GroupName="hivemind-cleanup")
        assert got["ScheduleExpression"] == "at(2030-01-02T03:04:05)"
        assert got["Target"]["Arn"] == DESTROY and got["Target"]["RoleArn"] == ROLE
        assert '"deployment_id": "app-123456"' in got["Target"]["Input"]
        assert got["State"] == "ENABLED"
        timer.schedule_cleanup("app-123456", at + timedelta(hours=1), "remind")
        moved = sched.get_schedule(Name="cleanup-app-123456", GroupName="hivemind-cleanup")
        assert moved["ScheduleExpression"] == "at(2030-01-02T04:04:05)" and moved["State"] == "ENABLED"
        assert len(sched.list_schedules(GroupName="hivemind-cleanup")["Schedules"]) == 1
    client.cache_clear()
