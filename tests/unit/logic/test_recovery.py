"""logic.recovery.reconcile_interrupted on moto: real DynamoDB store, Step Functions and EventBridge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.events import EventBridgePublisher
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.adapters.workflows import StepFunctions
from hivemind.logic.ports import Ports
from hivemind.logic.recovery import reconcile_interrupted
from hivemind.models import DeploymentState, DeploymentStatus
from hivemind.settings import Settings
from moto import mock_aws

REGION = "us-east-1"
S = DeploymentStatus


@pytest.fixture
def env() -> Iterator[dict[str, Any]]:
    with mock_aws():
        client.cache_clear()
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=constants.TABLE_NAME, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": constants.STATUS_INDEX, "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                                                   {"AttributeName": "gsi1sk", "KeyType": "RANGE"}]}],
        )
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=constants.EVENT_BUS_NAME)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="failed-events")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="failed", EventBusName=constants.EVENT_BUS_NAME,
                        EventPattern=json.dumps({"detail-type": [constants.EV_FAILED]}))
        events.put_targets(Rule="failed", EventBusName=constants.EVENT_BUS_NAME,
                           Targets=[{"Id": "q", "Arn": queue_arn}])
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="deploy", roleArn="arn:aws:iam::123456789012:role/sfn",
            definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600,
                                                                           "End": True}}}))["stateMachineArn"]
        store = DynamoStateStore(constants.TABLE_NAME, boto3.resource("dynamodb", region_name=REGION))
        ports = Ports(settings=Settings(), store=store, events=EventBridgePublisher(constants.EVENT_BUS_NAME),
                      objects=None, stacks=None, commands=None, fleet=None, probe=None, repos=None, tagged=None,
                      extra={"workflows": StepFunctions(REGION)})
        yield {"ports": ports, "store": store, "sfn": sfn, "machine": machine, "sqs": sqs, "queue": queue_url}
        client.cache_clear()


def _execution(env: dict[str, Any], name: str, *, stop: bool) -> str:
    arn = env["sfn"].start_execution(stateMachineArn=env["machine"], name=name)["executionArn"]
    if stop:
        env["sfn"].stop_execution(executionArn=arn, error="LocalCloudStopped", cause="the local cloud stopped")
    return arn


def _deployment(env: dict[str, Any], dep_id: str, status: DeploymentStatus, stage: str,
                execution_arn: str | None) -> None:
    env["store"].create(DeploymentState(id=dep_id, repo=f"/src/{dep_id}", status=status, stage=stage,
                                        execution_arn=execution_arn))


def _failed_events(env: dict[str, Any]) -> list[dict[str, Any]]:
    messages = env["sqs"].receive_message(QueueUrl=env["queue"], MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"])["detail"] for m in messages]


def test_an_active_deployment_whose_execution_stopped_is_failed_at_the_stage_it_reached(env) -> None:
    _deployment(env, "app-aborted", S.DEPLOYING, "deploy", _execution(env, "e-aborted", stop=True))

    assert reconcile_interrupted(env["ports"]) == ["app-aborted"]

    state = env["store"].get("app-aborted")
    assert state.status is S.FAILED and state.stage == "deploy"
    assert state.error is not None and state.error.type == "ExecutionInterrupted" and state.error.stage == "deploy"
    assert "ABORTED" in state.error.message
    assert state.error.remediation == ("`hivemind retry app-aborted` resumes at deploy; "
                                       "`hivemind destroy app-aborted` removes it.")
    assert [e.type for e in env["store"].errors("app-aborted")] == ["ExecutionInterrupted"]
    (event,) = _failed_events(env)
    assert event["deployment_id"] == "app-aborted" and event["type"] == "ExecutionInterrupted"
    assert event["stage"] == "deploy"


@pytest.mark.parametrize(
    ("status", "stage", "execution"),
    [
        (S.PENDING, "validate", "none"),  # the execution never recorded itself
        (S.PROVISIONING, "provision", "missing"),  # an execution the emulator no longer knows
        (S.DESTROYING, "destroy", "stopped"),
    ],
)
def test_every_active_status_without_a_running_execution_is_marked(env, status, stage, execution) -> None:
    arn = {"none": None, "stopped": _execution(env, "e-1", stop=True),
           "missing": "arn:aws:states:us-east-1:123456789012:execution:deploy:gone"}[execution]
    _deployment(env, "app-1", status, stage, arn)

    assert reconcile_interrupted(env["ports"]) == ["app-1"]
    state = env["store"].get("app-1")
    assert state.status is S.FAILED and state.stage == stage and state.error.type == "ExecutionInterrupted"


def test_running_executions_and_settled_deployments_are_left_alone(env) -> None:
    _deployment(env, "app-running", S.DEPLOYING, "deploy", _execution(env, "e-running", stop=False))
    _deployment(env, "app-done", S.SUCCEEDED, "report", _execution(env, "e-done", stop=True))
    _deployment(env, "app-failed", S.FAILED, "verify", None)

    assert reconcile_interrupted(env["ports"]) == []
    assert env["store"].get("app-running").status is S.DEPLOYING
    assert env["store"].get("app-done").status is S.SUCCEEDED
    assert env["store"].get("app-failed").error is None
    assert _failed_events(env) == []
    # a second pass after marking changes nothing more (it is what `local up` runs every time)
    env["sfn"].stop_execution(executionArn=env["store"].get("app-running").execution_arn)
    assert reconcile_interrupted(env["ports"]) == ["app-running"]
    assert reconcile_interrupted(env["ports"]) == []
