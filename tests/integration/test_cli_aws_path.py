"""The CLI's AWS path (`--aws`): it finds the control plane by its CloudFormation stack's outputs
and starts/reads executions there. "AWS" is the local cloud's emulator reached the way an AWS SDK
reaches any endpoint (credentials + AWS_ENDPOINT_URL); no HIVEMIND_* setting is given."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.cli import target as target_mod
from hivemind.cli.main import main
from hivemind.local import cloud as local_cloud
from hivemind.local import control_plane
from hivemind.local.context import ACCOUNT_ID, DUMMY_CREDENTIALS, REGION

GO_HELLO = str(Path(__file__).resolve().parents[2] / "examples" / "go-hello")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_cloud.LocalCloud]:
    """A local cloud; this process sees only AWS credentials, a region and the endpoint URL."""
    state_dir = tmp_path_factory.mktemp("hm-cli-aws")
    saved = dict(os.environ)
    running = local_cloud.up(state_dir)
    try:
        for key in [k for k in os.environ if k.startswith("HIVEMIND_")] + ["AWS_PROFILE", "AWS_SESSION_TOKEN"]:
            os.environ.pop(key, None)
        os.environ.update(DUMMY_CREDENTIALS)
        os.environ.update({"AWS_ENDPOINT_URL": running.endpoint_url, "AWS_DEFAULT_REGION": REGION,
                           "AWS_REGION": REGION})
        client.cache_clear()
        yield running
    finally:
        local_cloud.down(state_dir)
        os.environ.clear()
        os.environ.update(saved)
        client.cache_clear()


def _outputs(endpoint_url: str) -> dict[str, str]:
    """The control-plane stack's outputs, pointing at the local cloud's real resources."""
    api_id = client("apigateway").create_rest_api(name="hivemind-api")["id"]
    outputs = {constants.out_state_machine(w): control_plane.state_machine_arn(w) for w in constants.WORKFLOWS}
    outputs.update({
        constants.OUT_TABLE: constants.TABLE_NAME,
        constants.OUT_BUCKET: constants.artifacts_bucket_name(ACCOUNT_ID, REGION),
        constants.OUT_BUS: constants.EVENT_BUS_NAME,
        constants.OUT_API_URL: f"{endpoint_url}/restapis/{api_id}/prod/_user_request_",
    })
    return outputs


def _create_stack(name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter",
                                 "Properties": {"Name": f"/{name}/control-plane", "Type": "String", "Value": "up"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cfn = client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


@pytest.fixture(scope="module")
def control_plane_stack(cloud: local_cloud.LocalCloud) -> dict[str, str]:
    outputs = _outputs(cloud.endpoint_url)
    _create_stack(constants.CONTROL_PLANE_STACK, outputs)
    return outputs


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    """Run the CLI; return (exit code, stdout parsed as JSON when --json, stderr)."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, (json.loads(out) if "--json" in argv and out.strip() else out), err


def test_the_target_comes_from_the_stack_outputs(control_plane_stack: dict[str, str]) -> None:
    target = target_mod.resolve(local=False)
    assert target.local is False and target.endpoint_url is None
    assert target.deploy_arn == control_plane_stack[constants.out_state_machine("deploy")]
    assert target.retry_arn == control_plane_stack[constants.out_state_machine("retry")]
    assert target.table == control_plane_stack[constants.OUT_TABLE]
    assert target.bucket == control_plane_stack[constants.OUT_BUCKET]
    assert target.region == REGION


def test_deploy_what_if_through_the_aws_path(control_plane_stack: dict[str, str], capsys) -> None:
    code, out, _ = _run(capsys, "deploy", GO_HELLO, "--aws", "--what-if", "--json")
    assert code == 0, out
    assert out["execution_status"] == "SUCCEEDED" and out["status"] == "planned"
    assert out["local"] is False
    deploy_arn = control_plane_stack[constants.out_state_machine("deploy")]
    assert out["execution_arn"].startswith(deploy_arn.replace(":stateMachine:", ":execution:") + ":")
    assert out["id"].startswith("go-hello-")
    assert out["what_if"]["stack"]["language"] == "go"
    assert out["monthly_usd"] == out["what_if"]["cost"]["monthly_usd"] > 0

    code, listed, _ = _run(capsys, "list", "--aws", "--json")
    assert code == 0 and out["id"] not in [d["id"] for d in listed]  # a what-if records nothing


@pytest.mark.slow
def test_deploy_status_list_and_destroy_through_the_aws_path(control_plane_stack: dict[str, str], capsys) -> None:
    code, out, err = _run(capsys, "deploy", GO_HELLO, "--aws", "--json", "--poll-interval", "1", "--timeout", "300")
    assert code == 0, (out, err)
    assert out["status"] == "succeeded" and out["stage"] == "report" and out["release"] == "r-1"
    assert out["url"] and out["url"].startswith("http://127.0.0.1:")
    dep_id = out["id"]

    code, state, _ = _run(capsys, "status", dep_id, "--aws", "--json")
    assert code == 0
    assert state["id"] == dep_id and state["status"] == "succeeded" and state["url"] == out["url"]

    code, text, _ = _run(capsys, "status", dep_id, "--aws")
    assert code == 0 and dep_id in text and "succeeded" in text and out["url"] in text

    code, listed, _ = _run(capsys, "list", "--aws", "--json")
    assert code == 0 and [d["status"] for d in listed if d["id"] == dep_id] == ["succeeded"]

    code, gone, _ = _run(capsys, "destroy", dep_id, "--aws", "--yes", "--json", "--timeout", "300")
    assert code == 0, gone
    assert gone["status"] == "destroyed" and gone["execution_status"] == "SUCCEEDED"
    code, state, _ = _run(capsys, "status", dep_id, "--aws", "--json")
    assert code == 0 and state["status"] == "destroyed"


def test_status_of_an_unknown_deployment_fails_cleanly(control_plane_stack: dict[str, str], capsys) -> None:
    code, out, _ = _run(capsys, "status", "nope-123456", "--aws", "--json")
    assert code == 1
    assert out["error"]["type"] == "DeploymentNotFound" and "nope-123456" in out["error"]["message"]


def test_a_missing_control_plane_stack_is_one_clear_error(cloud: local_cloud.LocalCloud, capsys) -> None:
    code, out, err = _run(capsys, "list", "--aws", "--stack-name", "no-such-stack")
    assert code == 1
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert lines[0].startswith("error (cli): control-plane stack 'no-such-stack' not found")
    assert lines[1].strip().startswith("what to do:") and len(lines) == 2

    code, out, _ = _run(capsys, "deploy", GO_HELLO, "--aws", "--what-if", "--json", "--stack-name", "no-such-stack")
    assert code == 1
    assert out["error"]["type"] == "ControlPlaneNotFound"
    assert "no-such-stack" in out["error"]["message"] and "\n" not in out["error"]["message"]
    assert out["error"]["remediation"]


def test_a_control_plane_stack_without_an_output_is_named(cloud: local_cloud.LocalCloud, capsys) -> None:
    outputs = _outputs(cloud.endpoint_url)
    del outputs[constants.OUT_TABLE]
    _create_stack("hivemind-partial", outputs)
    code, out, _ = _run(capsys, "list", "--aws", "--json", "--stack-name", "hivemind-partial")
    assert code == 1
    assert out["error"]["type"] == "ControlPlaneNotFound" and constants.OUT_TABLE in out["error"]["message"]
