"""The cleanup timer on the local cloud: a failed deployment's one-time schedule really fires.

Each test starts its own local cloud with a tiny timer (HIVEMIND_CLEANUP_TIMER_HOURS in the
server's environment) and deploys an app that crashes on start:
- action "destroy": the timer starts the destroy workflow and nothing of the deployment remains;
- action "remind": a ``Cleanup Reminder`` event reaches the bus (a rule copies it to an SQS queue
  we read) and the deployment is left alone.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.tagging import TaggedResources
from hivemind.cli import commands
from hivemind.cli import target as target_mod
from hivemind.local import cloud as local_cloud
from hivemind.local.control_plane import SCHEDULE_GROUP
from hivemind.models import DeploymentStatus
from hivemind.models.tasks import DeployOptions
from hm_local_testkit import processes_mentioning, wait_for

pytestmark = [pytest.mark.slow]

CRASH = Path(__file__).resolve().parents[2] / "fixtures" / "broken" / "crash-on-start"
TIMER_HOURS = "0.003"  # about 11 s: long enough for the failed deploy execution to end first
FAST = DeployOptions(poll_interval_s=1)


@contextlib.contextmanager
def cloud_with_timer(state_dir: Path, action: str) -> Iterator[target_mod.Target]:
    """A local cloud whose server (and so its in-process Lambda tasks) runs with this timer setting."""
    saved = dict(os.environ)
    os.environ.update({"HIVEMIND_LOCAL_DIR": str(state_dir), "HIVEMIND_CLEANUP_TIMER_HOURS": TIMER_HOURS,
                       "HIVEMIND_CLEANUP_ACTION": action})
    try:
        yield target_mod.resolve(local=True)
    finally:
        local_cloud.down(state_dir)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()


def _schedule_exists(dep_id: str) -> bool:
    try:
        client("scheduler").get_schedule(Name=f"cleanup-{dep_id}", GroupName=SCHEDULE_GROUP)
        return True
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return False
        raise


def _timer_executions(target: target_mod.Target, dep_id: str) -> list[dict[str, Any]]:
    runs = client("stepfunctions").list_executions(stateMachineArn=target.destroy_arn)["executions"]
    return [e for e in runs if e["name"].startswith(f"cleanup-{dep_id}-")]


def _server_log(state_dir: Path) -> str:
    return (state_dir / "logs" / "server.log").read_text(errors="replace")


def test_timer_destroys_a_failed_deployment(tmp_path: Path) -> None:
    state_dir = tmp_path / "cloud"
    with cloud_with_timer(state_dir, "destroy") as target:
        outcome = commands.deploy(target, str(CRASH), options=FAST, timeout_s=600)
        assert not outcome.ok and outcome.execution_status == "FAILED"
        dep_id = outcome.id
        store, _ = commands._ports(target)
        failed_at = store.get(dep_id).error
        assert failed_at is not None and failed_at.stage == "deploy"

        final = wait_for(lambda: (s := store.get(dep_id)).status is DeploymentStatus.DESTROYED and s,
                         timeout=300, what=f"the cleanup timer to destroy {dep_id}", interval=1)
        assert final.status is DeploymentStatus.DESTROYED
        [run] = _timer_executions(target, dep_id)
        assert run["status"] == "SUCCEEDED"
        assert not _schedule_exists(dep_id), "ActionAfterCompletion DELETE: the schedule is gone after firing"
        assert f"cleanup timer {SCHEDULE_GROUP}/cleanup-{dep_id} fired" in _server_log(state_dir)
        # Nothing of the deployment remains: tags, instances, processes, sandbox files.
        assert TaggedResources().arns(dep_id) == []
        sandboxes = [p for p in (state_dir / "instances").glob("*") if p.is_dir()]
        assert sandboxes == []
        assert processes_mentioning(str(state_dir / "instances")) == []


def test_timer_reminds_and_leaves_the_deployment(tmp_path: Path) -> None:
    state_dir = tmp_path / "cloud"
    with cloud_with_timer(state_dir, "remind") as target:
        sqs = client("sqs")
        queue = sqs.create_queue(QueueName="cleanup-reminders")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = client("events")
        events.put_rule(Name="reminders", EventBusName=constants.EVENT_BUS_NAME,
                        EventPattern=json.dumps({"source": [constants.EVENT_SOURCE],
                                                 "detail-type": [constants.EV_CLEANUP_REMINDER]}))
        events.put_targets(Rule="reminders", EventBusName=constants.EVENT_BUS_NAME,
                           Targets=[{"Id": "queue", "Arn": queue_arn}])

        outcome = commands.deploy(target, str(CRASH), options=FAST, timeout_s=600)
        assert not outcome.ok and outcome.execution_status == "FAILED"
        dep_id = outcome.id

        def reminder() -> dict[str, Any] | None:
            msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for msg in msgs:
                event = json.loads(msg["Body"])
                if event.get("detail", {}).get("deployment_id") == dep_id:
                    return event
            return None

        event = wait_for(reminder, timeout=300, what=f"a Cleanup Reminder for {dep_id}", interval=0.5)
        assert event["detail-type"] == constants.EV_CLEANUP_REMINDER and event["source"] == constants.EVENT_SOURCE
        assert event["detail"]["action"] == "remind" and f"hivemind destroy {dep_id}" in event["detail"]["remediation"]
        # ActionAfterCompletion DELETE: the schedule goes once it has fired (just after the event, as on AWS).
        wait_for(lambda: not _schedule_exists(dep_id), timeout=30, what=f"the schedule of {dep_id} to be deleted",
                 interval=0.2)
        store, _ = commands._ports(target)
        assert store.get(dep_id).status is DeploymentStatus.FAILED  # reminded, not destroyed
        assert _timer_executions(target, dep_id) == []
        assert TaggedResources().arns(dep_id) != []  # its resources stay for debugging

        gone = commands.destroy(target, dep_id, timeout_s=600)  # clean up by hand, as the reminder says
        assert gone.ok, gone.error
        assert TaggedResources().arns(dep_id) == []
