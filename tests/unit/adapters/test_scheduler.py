"""The cleanup timer's target: destroy starts the destroy workflow, remind puts an event on the bus."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.scheduler import CleanupScheduler, bus_arn_like
from moto import mock_aws

DESTROY = "arn:aws:states:eu-west-1:111122223333:stateMachine:hivemind-destroy"
ROLE = "arn:aws:iam::111122223333:role/hivemind-cleanup"
AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_destroy_targets_the_destroy_state_machine() -> None:
    target = CleanupScheduler("g", ROLE, DESTROY).target("app-1", "destroy", AT)
    assert target["Arn"] == DESTROY and target["RoleArn"] == ROLE and "EventBridgeParameters" not in target
    assert json.loads(target["Input"])["deployment_id"] == "app-1"


def test_remind_targets_the_bus_of_the_same_account_and_region() -> None:
    target = CleanupScheduler("g", ROLE, DESTROY, event_bus_name="hm").target("app-1", "remind", AT)
    assert target["Arn"] == "arn:aws:events:eu-west-1:111122223333:event-bus/hm"
    assert target["EventBridgeParameters"] == {"DetailType": constants.EV_CLEANUP_REMINDER,
                                               "Source": constants.EVENT_SOURCE}
    detail = json.loads(target["Input"])
    assert detail["deployment_id"] == "app-1" and detail["deadline"] == "2030-01-02T03:04:05Z"
    assert "hivemind destroy app-1" in detail["remediation"]


@pytest.mark.parametrize("bad", ["", "stateMachine:x", "not:an:arn:at:all:really"])
def test_bus_arn_needs_an_arn(bad: str) -> None:
    with pytest.raises(ValueError, match="not a state machine ARN"):
        bus_arn_like(bad, "hivemind")


def test_unknown_action_is_refused() -> None:
    with pytest.raises(ValueError, match="'nuke' is not one of"):
        CleanupScheduler("g", ROLE, DESTROY).target("app-1", "nuke", AT)


def test_a_reminder_schedule_is_enabled_in_scheduler(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    client.cache_clear()
    with mock_aws():
        sched = boto3.client("scheduler", region_name="eu-west-1")
        sched.create_schedule_group(Name="hivemind-cleanup")
        CleanupScheduler("hivemind-cleanup", ROLE, DESTROY, region="eu-west-1").schedule_cleanup("app-2", AT, "remind")
        got = sched.get_schedule(Name="cleanup-app-2", GroupName="hivemind-cleanup")
        assert got["State"] == "ENABLED" and got["ActionAfterCompletion"] == "DELETE"
        assert got["Target"]["Arn"].endswith(":event-bus/hivemind")
        assert got["Target"]["EventBridgeParameters"]["DetailType"] == constants.EV_CLEANUP_REMINDER
    client.cache_clear()
