"""Instances are sandboxes with their own loopback address; SSM Run Command really runs in them."""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hivemind.local import cloud as local_cloud
from hm_local_testkit import processes_mentioning, wait_for

pytestmark = pytest.mark.slow

TERMINAL = ("Success", "Failed", "TimedOut", "Cancelled")


def _document(aws: Callable[[str], Any], run_command: list[str], **extra_params: dict[str, Any]) -> str:
    name = f"hm-test-{uuid.uuid4().hex[:10]}"
    content = {
        "schemaVersion": "2.2",
        "description": "local agent test",
        "parameters": {
            "Message": {"type": "String", "description": "printed", "allowedPattern": r"^[A-Za-z0-9 ]{1,40}$",
                        "default": "hello"},
            "Code": {"type": "String", "description": "exit code", "allowedPattern": r"^[0-9]{1,3}$", "default": "0"},
            "executionTimeout": {"type": "String", "description": "seconds", "allowedPattern": r"^[0-9]{1,5}$",
                                 "default": "60"},
            **extra_params,
        },
        "mainSteps": [{"action": "aws:runShellScript", "name": "run",
                       "inputs": {"timeoutSeconds": "{{ executionTimeout }}", "runCommand": run_command}}],
    }
    aws("ssm").create_document(Name=name, Content=json.dumps(content), DocumentType="Command",
                               DocumentFormat="JSON")
    return name


def _run(aws: Callable[[str], Any], document: str, instance_id: str, timeout: float = 60,
         **parameters: str) -> dict[str, Any]:
    ssm = aws("ssm")
    command = ssm.send_command(DocumentName=document, InstanceIds=[instance_id],
                               Parameters={k: [v] for k, v in parameters.items()})["Command"]
    return wait_for(lambda: (i := ssm.get_command_invocation(CommandId=command["CommandId"],
                                                             InstanceId=instance_id))["Status"] in TERMINAL and i,
                    timeout, f"command {command['CommandId']} to finish")


def test_each_instance_gets_its_own_loopback_address_and_sandbox(
        aws: Callable[[str], Any], launch: Callable[..., str], cloud: local_cloud.LocalCloud) -> None:
    first, second = launch(), launch()
    reservations = aws("ec2").describe_instances(InstanceIds=[first, second])["Reservations"]
    addresses = {i["InstanceId"]: i["PrivateIpAddress"] for r in reservations for i in r["Instances"]}
    assert len(set(addresses.values())) == 2
    for instance_id, address in addresses.items():
        ip = ipaddress.ip_address(address)
        assert ip.is_loopback and not address.startswith("127.0.0."), address
        assert (cloud.state_dir / "instances" / instance_id).is_dir()
    saved = json.loads((cloud.state_dir / "instances" / "ips.json").read_text())
    assert {k: saved["ips"][k] for k in addresses} == addresses
    online = aws("ssm").describe_instance_information(
        Filters=[{"Key": "InstanceIds", "Values": [first, second]}])["InstanceInformationList"]
    assert {(i["InstanceId"], i["PingStatus"], i["IPAddress"]) for i in online} == {
        (k, "Online", v) for k, v in addresses.items()}


def test_a_command_runs_in_the_sandbox_and_reports_like_ssm(
        aws: Callable[[str], Any], launch: Callable[..., str], cloud: local_cloud.LocalCloud) -> None:
    instance_id = launch()
    address = aws("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0][
        "PrivateIpAddress"]
    document = _document(aws, [
        'echo "message={{ Message }}"',
        'echo "root=$HIVEMIND_ROOT host=$HIVEMIND_BIND_HOST cwd=$(pwd) endpoint=$AWS_ENDPOINT_URL"',
        "echo to-stderr >&2",
        "exit {{ Code }}",
    ])
    invocation = _run(aws, document, instance_id, Message="Hi there")
    sandbox = cloud.state_dir / "instances" / instance_id
    assert invocation["Status"] == "Success"
    assert invocation["ResponseCode"] == 0
    assert "message=Hi there" in invocation["StandardOutputContent"]
    assert (f"root={sandbox} host={address} cwd={sandbox} endpoint={cloud.endpoint_url}"
            in invocation["StandardOutputContent"])
    assert invocation["StandardErrorContent"].strip() == "to-stderr"
    assert invocation["PluginName"] == "run"
    listed = aws("ssm").list_command_invocations(CommandId=invocation["CommandId"], Details=True)
    [entry] = listed["CommandInvocations"]
    assert (entry["Status"], entry["CommandPlugins"][0]["ResponseCode"]) == ("Success", 0)
    assert "message=Hi there" in entry["CommandPlugins"][0]["Output"]
    assert aws("ssm").list_commands(CommandId=invocation["CommandId"])["Commands"][0]["Status"] == "Success"


def test_a_failing_command_reports_its_exit_code(aws: Callable[[str], Any], launch: Callable[..., str]) -> None:
    instance_id = launch()
    document = _document(aws, ["echo failing", "exit {{ Code }}"])
    invocation = _run(aws, document, instance_id, Code="3")
    assert (invocation["Status"], invocation["ResponseCode"]) == ("Failed", 3)
    assert aws("ssm").list_commands(CommandId=invocation["CommandId"])["Commands"][0]["Status"] == "Failed"


def test_the_execution_timeout_kills_the_command(aws: Callable[[str], Any], launch: Callable[..., str]) -> None:
    instance_id = launch()
    marker = uuid.uuid4().hex
    document = _document(aws, [f"sleep 300 # {marker}", "echo never"])
    invocation = _run(aws, document, instance_id, timeout=30, executionTimeout="1")
    assert invocation["Status"] == "TimedOut"
    assert invocation["ResponseCode"] == -1
    assert "never" not in invocation["StandardOutputContent"]
    wait_for(lambda: not processes_mentioning(marker), 10, "the timed-out command's processes to be gone")


def test_a_value_outside_allowed_pattern_is_refused(aws: Callable[[str], Any], launch: Callable[..., str]) -> None:
    instance_id = launch()
    document = _document(aws, ['echo "{{ Message }}"'])
    before = len(aws("ssm").list_commands()["Commands"])
    for bad in ("$(id)", "a; rm -rf /", "`id`"):
        with pytest.raises(ClientError) as caught:
            aws("ssm").send_command(DocumentName=document, InstanceIds=[instance_id],
                                    Parameters={"Message": [bad]})
        assert caught.value.response["Error"]["Code"] == "InvalidParameters"
        assert "Message" in caught.value.response["Error"]["Message"]
    assert len(aws("ssm").list_commands()["Commands"]) == before


def test_commands_reach_instances_by_tag_and_refuse_unknown_ones(
        aws: Callable[[str], Any], launch: Callable[..., str]) -> None:
    group = uuid.uuid4().hex[:8]
    tagged = {launch(group=group), launch(group=group)}
    launch(group="other")
    document = _document(aws, ["echo tagged"])
    command = aws("ssm").send_command(DocumentName=document, Targets=[{"Key": "tag:group", "Values": [group]}])[
        "Command"]
    assert set(command["InstanceIds"]) == tagged
    for instance_id in tagged:
        wait_for(lambda i=instance_id: aws("ssm").get_command_invocation(
            CommandId=command["CommandId"], InstanceId=i)["Status"] == "Success", 30, "tagged command")
    with pytest.raises(ClientError) as caught:
        aws("ssm").send_command(DocumentName=document, InstanceIds=["i-0123456789abcdef0"])
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_terminating_an_instance_stops_its_apps_and_removes_the_sandbox(
        aws: Callable[[str], Any], launch: Callable[..., str], cloud: local_cloud.LocalCloud) -> None:
    instance_id = launch()
    marker = uuid.uuid4().hex
    document = _document(aws, [
        "mkdir -p run/hivemind",
        f"setsid bash -c 'sleep 600; : {marker}' > /dev/null 2>&1 < /dev/null &",
        "echo $! > run/hivemind/test-app.pid",
    ])
    assert _run(aws, document, instance_id)["Status"] == "Success"
    sandbox = cloud.state_dir / "instances" / instance_id
    pid = int((sandbox / "run" / "hivemind" / "test-app.pid").read_text())
    assert processes_mentioning(marker), "the app should outlive its command, as with the SSM agent"
    try:
        aws("ec2").terminate_instances(InstanceIds=[instance_id])
        assert not processes_mentioning(marker)
        assert not sandbox.exists()
        state = aws("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
        assert state["Name"] == "terminated"
    finally:
        if processes_mentioning(marker):
            os.kill(pid, signal.SIGKILL)


def test_sandbox_paths_are_under_the_state_dir(cloud: local_cloud.LocalCloud) -> None:
    assert Path(cloud.state_dir, "instances").is_dir()


def test_a_running_command_can_be_cancelled(aws: Callable[[str], Any], launch: Callable[..., str]) -> None:
    instance_id = launch()
    marker = uuid.uuid4().hex
    document = _document(aws, [f"sleep 300 # {marker}"])
    ssm = aws("ssm")
    command_id = ssm.send_command(DocumentName=document, InstanceIds=[instance_id])["Command"]["CommandId"]
    wait_for(lambda: ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)["Status"]
             == "InProgress", 10, "the command to start")
    ssm.cancel_command(CommandId=command_id)
    invocation = wait_for(lambda: (i := ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id))[
        "Status"] in TERMINAL and i, 15, "the cancellation")
    assert invocation["Status"] == "Cancelled"
    assert ssm.list_commands(CommandId=command_id)["Commands"][0]["Status"] == "Cancelled"
    wait_for(lambda: not processes_mentioning(marker), 10, "the cancelled command's processes to be gone")
