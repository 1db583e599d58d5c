"""The local cloud process: up / status / down, stale records, a port in use, the control plane."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from hivemind import asl, constants
from hivemind.local import cloud as local_cloud
from hivemind.local import control_plane, persistence, procs
from hivemind.local.context import ACCOUNT_ID, REGION
from hm_local_testkit import processes_mentioning, wait_for

pytestmark = pytest.mark.slow


def test_up_is_idempotent_and_down_leaves_nothing(tmp_path: Path) -> None:
    state = tmp_path / "lifecycle"
    first = local_cloud.up(state)
    try:
        assert first.state_dir == state.resolve()
        assert first.endpoint_url == f"http://127.0.0.1:{first.port}"
        assert procs.pid_alive(first.pid)
        with urllib.request.urlopen(f"{first.endpoint_url}/moto-api/config", timeout=5) as resp:
            config = json.loads(resp.read())
        assert config["lambda"]["use_docker"] is False  # (Step Functions execution: test_local_lambda)
        again = local_cloud.up(state)
        assert (again.pid, again.port) == (first.pid, first.port)
        assert local_cloud.status(state) == first
        ready = json.loads((state / local_cloud.READY_FILE).read_text())
        assert not ready["bootstrap"]["skipped"], ready["bootstrap"]
    finally:
        stopped = local_cloud.down(state)
    assert stopped is True
    assert not procs.pid_alive(first.pid)
    assert local_cloud.status(state) is None
    assert not (state / local_cloud.READY_FILE).exists()
    assert not (state / local_cloud.PID_FILE).exists()
    assert processes_mentioning(str(state)) == []
    assert local_cloud.down(state) is False


def test_a_crashed_servers_apps_are_stopped_by_the_next_up(tmp_path: Path) -> None:
    """SIGKILL leaves app processes running; the next `up` stops them. The instance itself survives
    (the emulator's state is on disk), so its sandbox stays until the instance is terminated."""
    state = tmp_path / "crash"
    first = local_cloud.up(state)
    env = local_cloud.client_env(first)
    marker = uuid.uuid4().hex
    try:
        session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
        ec2 = session.client("ec2", endpoint_url=first.endpoint_url)
        ssm = session.client("ssm", endpoint_url=first.endpoint_url)
        instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        ssm.create_document(Name="start-app", DocumentType="Command", DocumentFormat="JSON", Content=json.dumps({
            "schemaVersion": "2.2", "description": "start a background app", "mainSteps": [{
                "action": "aws:runShellScript", "name": "start", "inputs": {"runCommand": [
                    "mkdir -p run/hivemind",
                    f"setsid bash -c 'sleep 600; : {marker}' > /dev/null 2>&1 < /dev/null &",
                    "echo $! > run/hivemind/app.pid"]}}]}))
        command_id = ssm.send_command(DocumentName="start-app", InstanceIds=[instance_id])["Command"]["CommandId"]
        wait_for(lambda: ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)["Status"]
                 == "Success", 30, "the app to start")
        started_at = time.time()
        snapshot = persistence.snapshot_path(state)
        wait_for(lambda: snapshot.exists() and snapshot.stat().st_mtime > started_at, 30, "an emulator snapshot")
        os.kill(first.pid, signal.SIGKILL)
        wait_for(lambda: not procs.pid_alive(first.pid), 10, "the server to die")
        assert processes_mentioning(marker), "the app outlives a crashed server"
        second = local_cloud.up(state)
        assert second.pid != first.pid
        assert processes_mentioning(marker) == []
        ec2 = session.client("ec2", endpoint_url=second.endpoint_url)
        (reservation,) = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        assert reservation["Instances"][0]["State"]["Name"] == "running"
        assert (state / "instances" / instance_id).is_dir()
        ec2.terminate_instances(InstanceIds=[instance_id])
        wait_for(lambda: not (state / "instances" / instance_id).exists(), 30, "the sandbox to go with its instance")
    finally:
        local_cloud.down(state)
        for pid, _ in processes_mentioning(marker):
            os.kill(pid, signal.SIGKILL)
    assert processes_mentioning(str(state)) == []


def test_a_record_naming_someone_elses_process_is_not_signalled(tmp_path: Path) -> None:
    """A recycled pid in a stale record belongs to another program: down() must leave it alone."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],  # noqa: S603
                             start_new_session=True)
    try:
        (tmp_path / local_cloud.PID_FILE).write_text(str(other.pid))
        assert local_cloud.status(tmp_path) is None
        assert local_cloud.down(tmp_path) is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_stale_record_of_a_dead_server_is_forgotten(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: S603
    dead.wait()
    record = local_cloud.LocalCloud(endpoint_url="http://127.0.0.1:9", port=9, pid=dead.pid, state_dir=tmp_path,
                                    started_at="2026-01-01T00:00:00Z")
    (tmp_path / local_cloud.READY_FILE).write_text(record.model_dump_json())
    (tmp_path / local_cloud.PID_FILE).write_text(str(dead.pid))
    assert local_cloud.status(tmp_path) is None
    assert not (tmp_path / local_cloud.READY_FILE).exists()
    assert not (tmp_path / local_cloud.PID_FILE).exists()


def test_up_on_a_busy_port_fails_clearly_and_leaves_no_process(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(local_cloud.LocalCloudError) as caught:
            local_cloud.up(tmp_path, port=port, timeout=60)
    message = str(caught.value)
    assert "exited with code 1 before it was ready" in message
    assert f"cannot serve on http://127.0.0.1:{port}: the port is in use" in message  # from the log tail
    assert caught.value.remediation
    assert processes_mentioning(str(tmp_path)) == []


def test_client_env_points_sdks_and_settings_at_the_cloud(cloud: local_cloud.LocalCloud) -> None:
    env = local_cloud.client_env(cloud)
    assert env["AWS_ENDPOINT_URL"] == cloud.endpoint_url
    assert env["AWS_DEFAULT_REGION"] == REGION
    assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"]
    assert env["HIVEMIND_DEPLOY_STATE_MACHINE_ARN"] == control_plane.state_machine_arn("deploy")
    assert env["HIVEMIND_ARTIFACTS_BUCKET"] == constants.artifacts_bucket_name(ACCOUNT_ID, REGION)
    assert env["HIVEMIND_LOCAL_DIR"] == str(cloud.state_dir)


def test_app_logs_refuses_a_path_like_deployment_id(cloud: local_cloud.LocalCloud) -> None:
    with pytest.raises(local_cloud.LocalCloudError):
        local_cloud.app_logs("../../etc", cloud.state_dir)
    assert local_cloud.app_logs("no-such-deployment", cloud.state_dir) == {}


def test_control_plane_has_the_cdk_apps_resources(aws: Callable[[str], Any]) -> None:
    table = aws("dynamodb").describe_table(TableName=constants.TABLE_NAME)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == [constants.STATUS_INDEX]
    ttl = aws("dynamodb").describe_time_to_live(TableName=constants.TABLE_NAME)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "ttl"
    aws("dynamodb").describe_table(TableName=constants.IDEMPOTENCY_TABLE_NAME)
    aws("s3").head_bucket(Bucket=constants.artifacts_bucket_name(ACCOUNT_ID, REGION))
    aws("events").describe_event_bus(Name=constants.EVENT_BUS_NAME)
    aws("scheduler").get_schedule_group(Name=control_plane.SCHEDULE_GROUP)
    expected_env = control_plane.function_environment()
    for task in (*constants.TASKS, constants.API_FUNCTION):
        config = aws("lambda").get_function(FunctionName=constants.function_name(task))["Configuration"]
        assert config["Handler"] == constants.handler_path(task)
        assert config["Runtime"] == "python3.12"
        assert config["Environment"]["Variables"] == expected_env
    for name in (constants.INSTALL_DOCUMENT, constants.HARDEN_DOCUMENT, constants.STOP_DOCUMENT):
        assert aws("ssm").describe_document(Name=name)["Document"]["DocumentType"] == "Command"
    for workflow in constants.WORKFLOWS:
        if not asl.asl_path(workflow).exists():
            continue
        machine = aws("stepfunctions").describe_state_machine(
            stateMachineArn=control_plane.state_machine_arn(workflow))
        assert machine["name"] == constants.state_machine_name(workflow)
        assert json.loads(machine["definition"]) == json.loads(control_plane.render_workflow(workflow))
        assert "${" not in machine["definition"]
