"""After a restore, stack operations the stopped local cloud was running end as failed operations."""

from __future__ import annotations

import json

import boto3
import pytest
from hivemind.local.cfn_extensions import INTERRUPTED_OPERATIONS, fail_interrupted
from moto import mock_aws
from moto.cloudformation.models import cloudformation_backends

TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
REASON = "The HiveMind local cloud stopped during this stack operation; it did not finish."


def _stack_with_status(cfn, name: str, status: str) -> None:
    cfn.create_stack(StackName=name, TemplateBody=TEMPLATE)
    stack = next(s for s in cloudformation_backends["123456789012"]["us-east-1"].stacks.values() if s.name == name)
    stack.status = status


@pytest.mark.parametrize(("running", "ended"), sorted(INTERRUPTED_OPERATIONS.items()))
def test_a_running_operation_ends_as_its_failure(running: str, ended: str) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        _stack_with_status(cfn, "hm-app", running)
        assert fail_interrupted(REASON) == [f"hm-app: {running} -> {ended}"]
        stack = cfn.describe_stacks(StackName="hm-app")["Stacks"][0]
        assert stack["StackStatus"] == ended and stack["StackStatusReason"] == REASON
        latest = cfn.describe_stack_events(StackName="hm-app")["StackEvents"][0]
        assert latest["ResourceStatus"] == ended and latest["ResourceStatusReason"] == REASON


@pytest.mark.parametrize("resting", ["CREATE_COMPLETE", "REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "DELETE_FAILED"])
def test_resting_stacks_are_left_alone(resting: str) -> None:
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        _stack_with_status(cfn, "hm-app", resting)
        assert fail_interrupted(REASON) == []
        assert cfn.describe_stacks(StackName="hm-app")["Stacks"][0]["StackStatus"] == resting
