"""CloudFormation behaviours the local cloud adds to moto: failures roll back, updates keep resources."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.slow

TAGS = [{"Key": "hivemind:deployment-id", "Value": "cfn-test"}]


def _network() -> dict[str, Any]:
    return {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16", "Tags": TAGS}},
        "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.9.1.0/24",
                                                              "Tags": TAGS}},
        "Routes": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}, "Tags": TAGS}},
        "Association": {"Type": "AWS::EC2::SubnetRouteTableAssociation",
                        "Properties": {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Routes"}}},
        "Gateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": TAGS}},
        "Attachment": {"Type": "AWS::EC2::VPCGatewayAttachment",
                       "Properties": {"VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "Gateway"}}},
        "Default": {"Type": "AWS::EC2::Route", "DependsOn": "Attachment",
                    "Properties": {"RouteTableId": {"Ref": "Routes"}, "DestinationCidrBlock": "0.0.0.0/0",
                                   "GatewayId": {"Ref": "Gateway"}}},
        "Group": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
                  "Properties": {"VpcId": {"Ref": "Vpc"}, "Port": 8000, "Protocol": "HTTP",
                                 "HealthCheckPath": "/health", "Tags": TAGS}},
    }


def _vpc_count(aws: Callable[[str], Any], cidr: str = "10.9.0.0/16") -> int:
    return len(aws("ec2").describe_vpcs(Filters=[{"Name": "cidr", "Values": [cidr]}])["Vpcs"])


def test_a_failing_resource_rolls_the_stack_back(aws: Callable[[str], Any]) -> None:
    cfn = aws("cloudformation")
    name = f"t-{uuid.uuid4().hex[:8]}"
    resources = _network()
    resources["Secret"] = {"Type": "AWS::SecretsManager::Secret",
                           "Properties": {"GenerateSecretString": {"GenerateStringKey": "password"}}}
    before = _vpc_count(aws)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Secret" in stack["StackStatusReason"]
    assert "Outputs" not in stack
    failed = [e for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Secret"]
    assert "SecretStringTemplate" in failed[0]["ResourceStatusReason"]
    assert _vpc_count(aws) == before  # the network it had made is gone
    assert cfn.list_stack_resources(StackName=name)["StackResourceSummaries"] == []
    cfn.delete_stack(StackName=name)


def test_an_update_keeps_resources_moto_cannot_update_and_delete_removes_all(aws: Callable[[str], Any]) -> None:
    cfn = aws("cloudformation")
    name = f"t-{uuid.uuid4().hex[:8]}"
    resources = _network()
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    group_arn = cfn.describe_stack_resource(StackName=name, LogicalResourceId="Group")[
        "StackResourceDetail"]["PhysicalResourceId"]
    resources["Group"]["Properties"]["HealthCheckPath"] = "/ready"
    change = cfn.create_change_set(StackName=name, ChangeSetName="u1", ChangeSetType="UPDATE",
                                   TemplateBody=json.dumps({"Resources": resources}))
    cfn.execute_change_set(ChangeSetName=change["Id"])
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    [group] = aws("elbv2").describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"]
    assert group["HealthCheckPath"] == "/ready"
    cfn.delete_stack(StackName=name)
    assert cfn.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert not [g for g in aws("elbv2").describe_target_groups()["TargetGroups"] if g["TargetGroupArn"] == group_arn]
    assert _vpc_count(aws) == 0
    assert not aws("ec2").describe_internet_gateways(
        Filters=[{"Name": "tag:hivemind:deployment-id", "Values": ["cfn-test"]}])["InternetGateways"]


def test_dynamic_references_resolve_from_ssm_and_secrets_manager(aws: Callable[[str], Any]) -> None:
    cfn = aws("cloudformation")
    name = f"t-{uuid.uuid4().hex[:8]}"
    aws("ssm").put_parameter(Name=f"/{name}/color", Value="blue", Type="String")
    template = {
        "Resources": {
            "Secret": {"Type": "AWS::SecretsManager::Secret",
                       "Properties": {"GenerateSecretString": {"SecretStringTemplate": '{"username": "app"}',
                                                               "GenerateStringKey": "password",
                                                               "PasswordLength": 24, "ExcludeCharacters": "@/"}}},
            "Copy": {"Type": "AWS::SSM::Parameter",
                     "Properties": {"Type": "String", "Name": f"/{name}/copy", "Tags": {"k": "v"},
                                    "Value": {"Fn::Sub": f"{{{{resolve:ssm:/{name}/color}}}}-"
                                                         "{{resolve:secretsmanager:${Secret}:SecretString:password}}"}}},
        },
        "Outputs": {"SecretArn": {"Value": {"Ref": "Secret"}}},
    }
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    secret_arn = stack["Outputs"][0]["OutputValue"]
    secret = json.loads(aws("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"])
    assert secret["username"] == "app" and len(secret["password"]) == 24
    assert not set(secret["password"]) & set("@/")
    value = aws("ssm").get_parameter(Name=f"/{name}/copy")["Parameter"]["Value"]
    assert value == f"blue-{secret['password']}"
    cfn.delete_stack(StackName=name)
    assert not [s for s in aws("secretsmanager").list_secrets()["SecretList"] if s["ARN"] == secret_arn]
