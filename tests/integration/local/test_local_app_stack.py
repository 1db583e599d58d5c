"""The REAL application template (python + postgres, stage-1) created and deleted in the local cloud.

Creates the stack through a change set (as the provision stage does), installs flask-hello on
its instance with the real install document, reaches it through the stack's Url output, checks
the database accepts the secret's credentials, deletes the stack and proves nothing is left:
no instance, target group, load balancer, DB, secret, alarm, parameter, process or sandbox file.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hivemind import constants
from hivemind.local import cloud as local_cloud
from hivemind.local.context import ACCOUNT_ID, REGION
from hivemind.models import TechStack
from hivemind.planning.plan import make_plan
from hivemind.planning.template import build_template
from hm_local_testkit import processes_mentioning, wait_for
from test_local_rds import psql

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("psql") is None, reason="psql is needed to check the database")]

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "flask-hello"


def _plan(deployment_id: str, preset: str = "stage-1") -> Any:
    stack = TechStack(language="python", framework="flask", package_manager="pip",
                      start_command="gunicorn app:app", port=8000, health_path="/health", database="postgres",
                      sources={k: "test" for k in ("language", "framework", "package_manager", "start_command",
                                                   "port", "database")})
    return make_plan(stack, deployment_id=deployment_id, app_name="flask-hello", preset=preset)


def _tagged(aws: Callable[[str], Any], deployment_id: str) -> list[str]:
    pages = aws("resourcegroupstaggingapi").get_paginator("get_resources").paginate(
        TagFilters=[{"Key": constants.TAG_DEPLOYMENT_ID, "Values": [deployment_id]}])
    return sorted(r["ResourceARN"] for page in pages for r in page["ResourceTagMappingList"])


def _install(aws: Callable[[str], Any], instance_id: str, deployment_id: str, secret_arn: str) -> dict[str, Any]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(EXAMPLE, arcname=".")
    bucket = constants.artifacts_bucket_name(ACCOUNT_ID, REGION)
    key = f"{constants.RELEASES_PREFIX}{deployment_id}/r-1.tar.gz"
    aws("s3").put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    parameters = {"DeploymentId": deployment_id, "ReleaseId": "r-1", "ReleaseUrl": f"s3://{bucket}/{key}",
                  "Language": "python", "PackageManager": "pip", "StartCommand": "gunicorn app:app",
                  "Port": "8000", "HealthPath": "/health", "DbSecretArn": secret_arn, "Region": REGION}
    ssm = aws("ssm")
    command_id = ssm.send_command(DocumentName=constants.INSTALL_DOCUMENT, InstanceIds=[instance_id],
                                  Parameters={k: [v] for k, v in parameters.items()})["Command"]["CommandId"]
    return wait_for(lambda: (i := ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id))[
        "Status"] not in ("Pending", "InProgress") and i, 300, "the install command")


def test_the_real_stack_runs_and_deletes_without_a_trace(aws: Callable[[str], Any],
                                                         cloud: local_cloud.LocalCloud) -> None:
    deployment_id = f"t{uuid.uuid4().hex[:8]}"
    plan = _plan(deployment_id)
    cfn = aws("cloudformation")
    change_set = cfn.create_change_set(StackName=plan.stack_name, ChangeSetName="provision", ChangeSetType="CREATE",
                                       TemplateBody=json.dumps(build_template(plan)),
                                       Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
    cfn.execute_change_set(ChangeSetName=change_set["Id"])
    stack = cfn.describe_stacks(StackName=plan.stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    instance_ids: list[str] = []
    try:
        assert outputs["Url"].startswith("http://127.0.0.1:")
        assert outputs["DbEndpoint"] == "127.0.0.1"
        secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=outputs["DbSecretArn"])["SecretString"])
        assert (secret["host"], str(secret["port"])) == ("127.0.0.1", outputs["DbPort"])
        db = psql(secret["host"], int(secret["port"]), secret["username"], secret["password"], secret["dbname"],
                  "SELECT 1")
        assert db.returncode == 0, db.stderr  # the DB's master password IS the secret's password

        group = aws("autoscaling").describe_auto_scaling_groups(
            AutoScalingGroupNames=[outputs["AutoScalingGroupName"]])["AutoScalingGroups"][0]
        instance_ids = [i["InstanceId"] for i in group["Instances"]]
        assert len(instance_ids) == plan.desired_capacity
        invocation = _install(aws, instance_ids[0], deployment_id, outputs["DbSecretArn"])
        assert invocation["Status"] == "Success", invocation["StandardOutputContent"][-2000:]
        wait_for(lambda: aws("elbv2").describe_target_health(TargetGroupArn=outputs["TargetGroupArn"])[
            "TargetHealthDescriptions"][0]["TargetHealth"]["State"] == "healthy", 60, "a healthy target")
        with urllib.request.urlopen(outputs["Url"], timeout=10) as response:
            assert response.read().decode() == "Hello from flask-hello on HiveMind!"
        logs = local_cloud.app_logs(deployment_id, cloud.state_dir)
        assert f"{instance_ids[0]}/app.log" in logs
        tagged = _tagged(aws, deployment_id)
        for kind in (":vpc/", ":subnet/", ":route-table/", ":internet-gateway/", ":security-group/", ":instance/",
                     ":loadbalancer/", ":targetgroup/", ":db:", ":secret:", ":alarm:", ":parameter/"):
            assert any(kind in arn for arn in tagged), f"no {kind} resource carries the deployment's tags"
    finally:
        cfn.delete_stack(StackName=plan.stack_name)
    deleted = cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]
    assert deleted["StackStatus"] == "DELETE_COMPLETE", deleted.get("StackStatusReason")

    # Nothing is left, by describe calls ...
    ec2 = aws("ec2")
    states = {i["InstanceId"]: i["State"]["Name"]
              for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"] for i in r["Instances"]}
    assert set(states.values()) == {"terminated"}
    assert not [n for n in ec2.describe_network_interfaces()["NetworkInterfaces"]
                if n.get("Attachment", {}).get("InstanceId") in instance_ids]
    assert not ec2.describe_vpcs(Filters=[{"Name": f"tag:{constants.TAG_DEPLOYMENT_ID}",
                                           "Values": [deployment_id]}])["Vpcs"]
    elbv2 = aws("elbv2")
    assert not [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if plan.stack_name in lb["LoadBalancerName"]]
    assert not [tg for tg in elbv2.describe_target_groups()["TargetGroups"] if plan.stack_name in tg["TargetGroupName"]]
    assert not [d for d in aws("rds").describe_db_instances()["DBInstances"]
                if d["DBInstanceIdentifier"].startswith(plan.stack_name)]
    assert not [s for s in aws("secretsmanager").list_secrets()["SecretList"] if plan.stack_name in s["Name"]]
    assert not [a for a in aws("cloudwatch").describe_alarms()["MetricAlarms"] if plan.stack_name in a["AlarmName"]]
    # ... by tag (EC2 keeps terminated instances visible; DeletionPolicy Snapshot keeps a final snapshot) ...
    final_snapshots = [s["DBSnapshotIdentifier"] for s in aws("rds").describe_db_snapshots()["DBSnapshots"]
                       if s["DBSnapshotIdentifier"].startswith(plan.stack_name.lower())]
    expected = {f"arn:aws:ec2:{REGION}:{ACCOUNT_ID}:instance/{i}" for i in instance_ids}
    expected |= {f"arn:aws:rds:{REGION}:{ACCOUNT_ID}:snapshot:{s}" for s in final_snapshots}
    assert len(final_snapshots) == 1
    assert set(_tagged(aws, deployment_id)) == expected
    # ... and on this machine: no process, no sandbox, no database files.
    for instance_id in instance_ids:
        assert not (cloud.state_dir / "instances" / instance_id).exists()
        assert processes_mentioning(instance_id) == []
    assert not [p for p in (cloud.state_dir / "rds").iterdir() if p.name.startswith(plan.stack_name.lower())]
    for snapshot in final_snapshots:
        aws("rds").delete_db_snapshot(DBSnapshotIdentifier=snapshot)
        assert not (cloud.state_dir / "rds-snapshots" / f"{snapshot}.sql").exists()


def test_the_production_stack_deletes_its_nat_gateway_and_addresses(aws: Callable[[str], Any],
                                                                   cloud: local_cloud.LocalCloud) -> None:
    deployment_id = f"p{uuid.uuid4().hex[:8]}"
    plan = _plan(deployment_id, preset="production")
    cfn, ec2 = aws("cloudformation"), aws("ec2")
    cfn.create_stack(StackName=plan.stack_name, TemplateBody=json.dumps(build_template(plan)),
                     Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName=plan.stack_name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    mine = [{"Name": f"tag:{constants.TAG_DEPLOYMENT_ID}", "Values": [deployment_id]}]
    instances = [i for r in ec2.describe_instances(Filters=mine)["Reservations"] for i in r["Instances"]]
    assert len(instances) == plan.desired_capacity >= 2
    assert len({i["PrivateIpAddress"] for i in instances}) == len(instances)
    assert all((cloud.state_dir / "instances" / i["InstanceId"]).is_dir() for i in instances)
    [nat] = ec2.describe_nat_gateways(Filters=mine)["NatGateways"]
    cfn.delete_stack(StackName=plan.stack_name)
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "deleted"
    assert not ec2.describe_addresses(Filters=mine)["Addresses"]
    assert not ec2.describe_vpcs(Filters=mine)["Vpcs"]
    assert not [n for n in ec2.describe_network_interfaces()["NetworkInterfaces"]
                if n.get("Attachment", {}).get("InstanceId") in {i["InstanceId"] for i in instances}
                or n["NetworkInterfaceId"] in {a["NetworkInterfaceId"] for a in nat["NatGatewayAddresses"]}]
    assert not any((cloud.state_dir / "instances" / i["InstanceId"]).exists() for i in instances)
    for snapshot in aws("rds").describe_db_snapshots()["DBSnapshots"]:
        if snapshot["DBSnapshotIdentifier"].startswith(plan.stack_name.lower()):
            aws("rds").delete_db_snapshot(DBSnapshotIdentifier=snapshot["DBSnapshotIdentifier"])
