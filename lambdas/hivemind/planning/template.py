"""The application's CloudFormation template, built as plain Python data from a DeploymentPlan.

No CDK at run time: this runs inside the Plan Lambda. The template is secure by default
(DESIGN.md): no port 22 anywhere, instances reachable only from the load balancer's security
group, IMDSv2 required, EBS/RDS/secrets encrypted, the database in isolated subnets and never
public, a least-privilege instance role. Same plan -> same template (no clocks, no randomness),
so what-if output is reproducible and stack updates only change what the plan changed.

Network layout (10.0.0.0/16):
  PublicSubnetA/B   10.0.0.0/24, 10.0.1.0/24  ALB (needs two AZs); stage-1 instances; the NAT gateway
  AppSubnetA/B      10.0.2.0/24, 10.0.3.0/24  production instances (private, egress through the NAT)
  DbSubnetA/B       10.0.4.0/24, 10.0.5.0/24  RDS (isolated: no route out of the VPC)

stage-1 has no NAT gateway (about $33/month): its one instance sits in a public subnet with a
public IP so the SSM agent and package installs reach the internet, but its security group only
admits the ALB's security group on the app port. production puts instances in private subnets
behind one NAT gateway (in AZ a): no public address on any instance. One NAT rather than one per AZ
is a cost choice; if AZ a fails, running instances in AZ b keep serving through the ALB, only
their outbound traffic (new installs, SSM) waits for the AZ to return.

Logical ids are stable across presets, so `upgrade` (stage-1 -> production) is a stack update.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from hivemind.constants import (
    INSTALL_DOCUMENT,
    RELEASES_PREFIX,
    TAG_APP,
    TAG_DEPLOYMENT_ID,
    TAG_MANAGED_BY,
    artifacts_bucket_name,
)
from hivemind.models import DeploymentPlan, ResourceSummary

Template = dict[str, Any]

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = {
    "PublicSubnetA": "10.0.0.0/24",
    "PublicSubnetB": "10.0.1.0/24",
    "AppSubnetA": "10.0.2.0/24",
    "AppSubnetB": "10.0.3.0/24",
    "DbSubnetA": "10.0.4.0/24",
    "DbSubnetB": "10.0.5.0/24",
}
AMI_PARAMETER = "LatestAmiId"
AMI_SSM_PATH = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
ROOT_VOLUME_GB = 20  # AL2023 needs ~2 GB; the rest holds toolchains, dependencies and releases
ROOT_DEVICE = "/dev/xvda"  # AL2023's root device name
DB_NAME = "app"
DB_USERNAME = "hivemind"
DB_PORTS = {"postgres": 5432, "mysql": 3306}
# Generated DB passwords go into DATABASE_URL: leave out every character that needs URL escaping
# or that RDS refuses ('/', '@', '"', ' ').
DB_PASSWORD_EXCLUDE = " !\"#$%&'()*+,/:;<=>?@[\\]^`{|}~"
TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
HTTP_PORT = 80
HTTPS_PORT = 443
HEALTH_CHECK = {"interval_s": 15, "timeout_s": 5, "healthy": 2, "unhealthy": 3, "matcher": "200-399"}
CPU_TARGET_PERCENT = 60.0

# Output keys: a contract with provision/deploy/verify/destroy. Do not rename.
OUT_URL = "Url"
OUT_LB_ARN = "LoadBalancerArn"
OUT_LB_DNS = "LoadBalancerDnsName"
OUT_TG_ARN = "TargetGroupArn"
OUT_ASG = "AutoScalingGroupName"
OUT_INSTANCE_SG = "InstanceSecurityGroupId"
OUT_RELEASE_PARAMETER = "ReleaseParameterName"
OUT_DB_ENDPOINT = "DbEndpoint"
OUT_DB_PORT = "DbPort"
OUT_DB_SECRET = "DbSecretArn"
OUT_DASHBOARD = "DashboardName"


# --- intrinsic-function helpers ----------------------------------------------------------------
def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def get_att(logical_id: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def release_parameter_name(deployment_id: str) -> str:
    """SSM parameter holding the current release id ("none" until the first deploy)."""
    return f"/hivemind/{deployment_id}/current-release"


def dashboard_name(deployment_id: str) -> str:
    return f"hivemind-{deployment_id}"


def tags(plan: DeploymentPlan, name: str | None = None) -> list[dict[str, str]]:
    """The tags every taggable resource carries; the destroy proof and the orphan sweep find by them."""
    out = [
        {"Key": TAG_APP, "Value": plan.app_name},
        {"Key": TAG_DEPLOYMENT_ID, "Value": plan.deployment_id},
        {"Key": TAG_MANAGED_BY, "Value": "hivemind"},
    ]
    if name is not None:
        out.append({"Key": "Name", "Value": f"{plan.stack_name}-{name}"})
    return out


def tag_map(plan: DeploymentPlan) -> dict[str, str]:
    """Tags for resources whose schema takes a map (AWS::SSM::Parameter)."""
    return {t["Key"]: t["Value"] for t in tags(plan)}


def asg_tags(plan: DeploymentPlan) -> list[dict[str, Any]]:
    return [{**t, "PropagateAtLaunch": True} for t in tags(plan, "app")]


def db_port(plan: DeploymentPlan) -> int:
    assert plan.database is not None
    return DB_PORTS[plan.database.engine]


def instance_subnets(plan: DeploymentPlan) -> list[str]:
    """stage-1: one public subnet (one AZ). production: the private app subnets of both AZs."""
    if plan.nat_gateway:
        return ["AppSubnetA", "AppSubnetB"][: plan.availability_zones]
    return ["PublicSubnetA", "PublicSubnetB"][: plan.availability_zones]


# --- the template ------------------------------------------------------------------------------
def build_template(plan: DeploymentPlan) -> Template:
    """Return the application stack's template for ``plan`` (deterministic plain data)."""
    resources: dict[str, Any] = {}
    resources.update(_network(plan))
    resources.update(_security_groups(plan))
    resources.update(_load_balancer(plan))
    resources.update(_compute(plan))
    if plan.database is not None:
        resources.update(_database(plan))
    resources.update(_alarms(plan))
    resources.update(_dashboard(plan))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            f"HiveMind application stack for {plan.app_name} (deployment {plan.deployment_id}, "
            f"preset {plan.preset})"
        ),
        "Metadata": {
            "HiveMind": {
                "DeploymentId": plan.deployment_id,
                "App": plan.app_name,
                "Preset": plan.preset,
                "Language": plan.stack.language,
            }
        },
        "Parameters": {
            AMI_PARAMETER: {
                "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
                "Default": AMI_SSM_PATH,
                "Description": "Latest Amazon Linux 2023 arm64 AMI (AWS public SSM parameter)",
            }
        },
        "Resources": resources,
        "Outputs": _outputs(plan),
    }


def resources_of(template: Template) -> list[ResourceSummary]:
    """Logical id and type of every resource, in template order (for `plan --json` and the state)."""
    return [ResourceSummary(logical_id=lid, type=r["Type"]) for lid, r in template["Resources"].items()]


def to_json(template: Template) -> str:
    """Serialize compactly: CloudFormation takes at most 51,200 bytes in a direct TemplateBody."""
    return json.dumps(template, separators=(",", ":"))


# --- network -----------------------------------------------------------------------------------
def _network(plan: DeploymentPlan) -> dict[str, Any]:
    r: dict[str, Any] = {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {
                "CidrBlock": VPC_CIDR,
                "EnableDnsHostnames": True,
                "EnableDnsSupport": True,
                "Tags": tags(plan, "vpc"),
            },
        },
        "InternetGateway": {"Type": "AWS::EC2::InternetGateway", "Properties": {"Tags": tags(plan, "igw")}},
        "VpcGatewayAttachment": {
            "Type": "AWS::EC2::VPCGatewayAttachment",
            "Properties": {"VpcId": ref("Vpc"), "InternetGatewayId": ref("InternetGateway")},
        },
    }
    r.update(_route_table(plan, "Public", default_route={"GatewayId": ref("InternetGateway")},
                          route_depends_on="VpcGatewayAttachment"))
    if plan.nat_gateway:
        r["NatEip"] = {
            "Type": "AWS::EC2::EIP",
            "DependsOn": "VpcGatewayAttachment",
            "Properties": {"Domain": "vpc", "Tags": tags(plan, "nat")},
        }
        r["NatGateway"] = {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {
                "AllocationId": get_att("NatEip", "AllocationId"),
                "SubnetId": ref("PublicSubnetA"),
                "Tags": tags(plan, "nat"),
            },
        }
        r.update(_route_table(plan, "App", default_route={"NatGatewayId": ref("NatGateway")}))
    if plan.database is not None:
        r.update(_route_table(plan, "Db", default_route=None))
    return r


def _route_table(
    plan: DeploymentPlan, tier: str, *, default_route: dict[str, Any] | None, route_depends_on: str | None = None
) -> dict[str, Any]:
    """A route table, its two subnets (AZ a and b) and their associations; ``None`` = isolated tier."""
    table = f"{tier}RouteTable"
    r: dict[str, Any] = {
        table: {
            "Type": "AWS::EC2::RouteTable",
            "Properties": {"VpcId": ref("Vpc"), "Tags": tags(plan, tier.lower())},
        }
    }
    if default_route is not None:
        route: dict[str, Any] = {
            "Type": "AWS::EC2::Route",
            "Properties": {"RouteTableId": ref(table), "DestinationCidrBlock": "0.0.0.0/0", **default_route},
        }
        if route_depends_on:
            route["DependsOn"] = route_depends_on
        r[f"{tier}DefaultRoute"] = route
    for index, az in enumerate(("A", "B")):
        subnet = f"{tier}Subnet{az}"
        r[subnet] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": ref("Vpc"),
                "CidrBlock": SUBNET_CIDRS[subnet],
                "AvailabilityZone": {"Fn::Select": [index, {"Fn::GetAZs": ""}]},
                "MapPublicIpOnLaunch": False,
                "Tags": tags(plan, f"{tier.lower()}-{az.lower()}"),
            },
        }
        r[f"{subnet}RouteTableAssociation"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation",
            "Properties": {"SubnetId": ref(subnet), "RouteTableId": ref(table)},
        }
    return r


# --- security groups ---------------------------------------------------------------------------
def _security_groups(plan: DeploymentPlan) -> dict[str, Any]:
    listener_ports = [HTTP_PORT, HTTPS_PORT] if plan.https else [HTTP_PORT]
    r: dict[str, Any] = {
        "AlbSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"{plan.stack_name} load balancer: HTTP(S) from anywhere",
                "VpcId": ref("Vpc"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "CidrIp": "0.0.0.0/0",
                        "Description": f"{'HTTPS' if port == HTTPS_PORT else 'HTTP'} from the internet",
                    }
                    for port in listener_ports
                ],
                # Egress only to the app port inside the VPC (targets and their health checks).
                "SecurityGroupEgress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": plan.port,
                        "ToPort": plan.port,
                        "CidrIp": VPC_CIDR,
                        "Description": "to the app instances",
                    }
                ],
                "Tags": tags(plan, "alb"),
            },
        },
        "InstanceSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"{plan.stack_name} app instances: app port from the load balancer only",
                "VpcId": ref("Vpc"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": plan.port,
                        "ToPort": plan.port,
                        "SourceSecurityGroupId": get_att("AlbSecurityGroup", "GroupId"),
                        "Description": "app port from the load balancer",
                    }
                ],
                # Outbound stays open: the SSM agent, S3, Secrets Manager and package registries, and
                # whatever external APIs the app calls. The harden stage may narrow it.
                "SecurityGroupEgress": [
                    {"IpProtocol": "-1", "CidrIp": "0.0.0.0/0", "Description": "outbound to anywhere"}
                ],
                "Tags": tags(plan, "app"),
            },
        },
    }
    if plan.database is not None:
        port = db_port(plan)
        r["DbSecurityGroup"] = {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": f"{plan.stack_name} database: {plan.database.engine} from the app only",
                "VpcId": ref("Vpc"),
                "SecurityGroupIngress": [
                    {
                        "IpProtocol": "tcp",
                        "FromPort": port,
                        "ToPort": port,
                        "SourceSecurityGroupId": get_att("InstanceSecurityGroup", "GroupId"),
                        "Description": f"{plan.database.engine} from the app instances",
                    }
                ],
                # The database starts no connections: replace the default allow-all egress with a
                # rule that matches nothing (the form CDK uses for allowAllOutbound=false).
                "SecurityGroupEgress": [
                    {
                        "IpProtocol": "icmp",
                        "FromPort": 252,
                        "ToPort": 86,
                        "CidrIp": "255.255.255.255/32",
                        "Description": "disallow all outbound traffic",
                    }
                ],
                "Tags": tags(plan, "db"),
            },
        }
    return r


# --- load balancer -----------------------------------------------------------------------------
def _load_balancer(plan: DeploymentPlan) -> dict[str, Any]:
    forward = [{"Type": "forward", "TargetGroupArn": ref("TargetGroup")}]
    r: dict[str, Any] = {
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            # An internet-facing ALB needs the internet gateway attached before it can be created.
            "DependsOn": "VpcGatewayAttachment",
            "Properties": {
                "Type": "application",
                "Scheme": "internet-facing",
                "IpAddressType": "ipv4",
                "Subnets": [ref("PublicSubnetA"), ref("PublicSubnetB")],
                "SecurityGroups": [get_att("AlbSecurityGroup", "GroupId")],
                "LoadBalancerAttributes": [
                    {"Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true"},
                    {"Key": "idle_timeout.timeout_seconds", "Value": "60"},
                    {"Key": "deletion_protection.enabled", "Value": "false"},
                ],
                "Tags": tags(plan, "alb"),
            },
        },
        "TargetGroup": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "VpcId": ref("Vpc"),
                "TargetType": "instance",
                "Protocol": "HTTP",
                "Port": plan.port,
                "HealthCheckEnabled": True,
                "HealthCheckProtocol": "HTTP",
                "HealthCheckPort": "traffic-port",
                "HealthCheckPath": plan.health_path,
                "HealthCheckIntervalSeconds": HEALTH_CHECK["interval_s"],
                "HealthCheckTimeoutSeconds": HEALTH_CHECK["timeout_s"],
                "HealthyThresholdCount": HEALTH_CHECK["healthy"],
                "UnhealthyThresholdCount": HEALTH_CHECK["unhealthy"],
                "Matcher": {"HttpCode": HEALTH_CHECK["matcher"]},
                "TargetGroupAttributes": [{"Key": "deregistration_delay.timeout_seconds", "Value": "30"}],
                "Tags": tags(plan, "tg"),
            },
        },
    }
    if plan.https:
        r["HttpListener"] = _listener(
            HTTP_PORT,
            "HTTP",
            [
                {
                    "Type": "redirect",
                    "RedirectConfig": {"Protocol": "HTTPS", "Port": str(HTTPS_PORT), "StatusCode": "HTTP_301"},
                }
            ],
        )
        r["HttpsListener"] = _listener(HTTPS_PORT, "HTTPS", forward)
        r["HttpsListener"]["Properties"].update(
            {"Certificates": [{"CertificateArn": plan.certificate_arn}], "SslPolicy": TLS_POLICY}
        )
    else:
        r["HttpListener"] = _listener(HTTP_PORT, "HTTP", forward)
    return r


def _listener(port: int, protocol: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::ElasticLoadBalancingV2::Listener",
        "Properties": {
            "LoadBalancerArn": ref("LoadBalancer"),
            "Port": port,
            "Protocol": protocol,
            "DefaultActions": actions,
        },
    }


# --- compute -----------------------------------------------------------------------------------
def _compute(plan: DeploymentPlan) -> dict[str, Any]:
    r: dict[str, Any] = {
        "InstanceRole": _instance_role(plan),
        "InstanceProfile": {
            "Type": "AWS::IAM::InstanceProfile",
            "Properties": {"Roles": [ref("InstanceRole")]},
        },
        "ReleaseParameter": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": release_parameter_name(plan.deployment_id),
                "Type": "String",
                "Value": "none",
                "Description": f"Current release of HiveMind deployment {plan.deployment_id} ('none' before the first)",
                "Tags": tag_map(plan),
            },
        },
        "LaunchTemplate": _launch_template(plan),
        "AutoScalingGroup": _auto_scaling_group(plan),
    }
    if plan.max_size > plan.min_size:
        r["CpuScalingPolicy"] = {
            "Type": "AWS::AutoScaling::ScalingPolicy",
            "Properties": {
                "AutoScalingGroupName": ref("AutoScalingGroup"),
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingConfiguration": {
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                    "TargetValue": CPU_TARGET_PERCENT,
                },
            },
        }
    return r


def _instance_role(plan: DeploymentPlan) -> dict[str, Any]:
    """SSM core (Run Command, Session Manager) plus read access to this deployment's own things only."""
    bucket = artifacts_bucket_name("${AWS::AccountId}", "${AWS::Region}")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadOwnReleases",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": sub(f"arn:${{AWS::Partition}}:s3:::{bucket}/{RELEASES_PREFIX}{plan.deployment_id}/*"),
        },
        {
            "Sid": "ReadReleasePointer",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": sub(
                "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
                + release_parameter_name(plan.deployment_id)
            ),
        },
    ]
    if plan.database is not None:
        statements.append(
            {
                "Sid": "ReadDbSecret",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": ref("DbSecret"),
            }
        )
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": f"Instances of HiveMind deployment {plan.deployment_id}",
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            },
            "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore")],
            "Policies": [
                {
                    "PolicyName": "hivemind-instance",
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
            "Tags": tags(plan, "instance"),
        },
    }


def _user_data(plan: DeploymentPlan) -> str:
    """Bootstrap script: installs no app. Values are validated by make_plan and quoted here.

    The deploy stage pushes each release by SSM Run Command (document hivemind-install-release).
    An instance the Auto Scaling group launches later (scale-out, replacement) gets the release
    named by the SSM parameter below: the control plane runs the same document on it. So this
    script only records where to look and makes sure the SSM agent is running.
    """
    env = {
        "HIVEMIND_DEPLOYMENT_ID": plan.deployment_id,
        "HIVEMIND_RELEASE_PARAMETER": release_parameter_name(plan.deployment_id),
        "HIVEMIND_INSTALL_DOCUMENT": INSTALL_DOCUMENT,
        "HIVEMIND_APP_PORT": str(plan.port),
    }
    env_lines = "\n".join(f"{key}={shlex.quote(value)}" for key, value in env.items())
    # Fn::Sub only expands ${AWS::Region}; the script itself uses no ${...}.
    return (
        "#!/bin/bash\n"
        "# HiveMind bootstrap: releases arrive by SSM Run Command, not from user data.\n"
        "set -euo pipefail\n"
        "install -d -m 0755 /etc/hivemind\n"
        "cat > /etc/hivemind/instance.env <<'HIVEMIND_ENV'\n"
        f"{env_lines}\n"
        "HIVEMIND_REGION=${AWS::Region}\n"
        "HIVEMIND_ENV\n"
        "chmod 0644 /etc/hivemind/instance.env\n"
        "systemctl enable --now amazon-ssm-agent\n"
        "systemctl is-active --quiet amazon-ssm-agent\n"
    )


def _launch_template(plan: DeploymentPlan) -> dict[str, Any]:
    interface: dict[str, Any] = {
        "DeviceIndex": 0,
        "Groups": [get_att("InstanceSecurityGroup", "GroupId")],
        # stage-1 has no NAT: a public IP is the instance's only way out (inbound is still ALB-only).
        "AssociatePublicIpAddress": not plan.nat_gateway,
        "DeleteOnTermination": True,
    }
    return {
        "Type": "AWS::EC2::LaunchTemplate",
        "Properties": {
            "LaunchTemplateData": {
                "ImageId": ref(AMI_PARAMETER),
                "InstanceType": plan.instance_type,
                "IamInstanceProfile": {"Arn": get_att("InstanceProfile", "Arn")},
                "MetadataOptions": {
                    "HttpEndpoint": "enabled",
                    "HttpTokens": "required",
                    "HttpPutResponseHopLimit": 1,
                    "InstanceMetadataTags": "disabled",
                },
                "BlockDeviceMappings": [
                    {
                        "DeviceName": ROOT_DEVICE,
                        "Ebs": {
                            "VolumeType": "gp3",
                            "VolumeSize": ROOT_VOLUME_GB,
                            "Encrypted": True,
                            "DeleteOnTermination": True,
                        },
                    }
                ],
                "NetworkInterfaces": [interface],
                "Monitoring": {"Enabled": False},
                "UserData": {"Fn::Base64": sub(_user_data(plan))},
                "TagSpecifications": [
                    {"ResourceType": kind, "Tags": tags(plan, "app")}
                    for kind in ("instance", "volume", "network-interface")
                ],
            },
            "TagSpecifications": [{"ResourceType": "launch-template", "Tags": tags(plan, "lt")}],
        },
    }


def _auto_scaling_group(plan: DeploymentPlan) -> dict[str, Any]:
    subnets = instance_subnets(plan)
    # Instances need their way out (IGW or NAT route) before the SSM agent can register.
    depends = ["AppDefaultRoute"] if plan.nat_gateway else ["PublicDefaultRoute"]
    depends += [f"{s}RouteTableAssociation" for s in subnets]
    return {
        "Type": "AWS::AutoScaling::AutoScalingGroup",
        "DependsOn": depends,
        "Properties": {
            "MinSize": str(plan.min_size),
            "MaxSize": str(plan.max_size),
            "DesiredCapacity": str(plan.desired_capacity),
            "LaunchTemplate": {
                "LaunchTemplateId": ref("LaunchTemplate"),
                "Version": get_att("LaunchTemplate", "LatestVersionNumber"),
            },
            "VPCZoneIdentifier": [ref(s) for s in subnets],
            "TargetGroupARNs": [ref("TargetGroup")],
            # EC2 health checks, not ELB: a new instance fails the ALB check until the deploy stage
            # has installed the release, and ELB checks would terminate it mid-install. Target health
            # is watched by the verify stage and the UnhealthyHostsAlarm.
            "HealthCheckType": "EC2",
            "HealthCheckGracePeriod": 300,
            "MetricsCollection": [{"Granularity": "1Minute"}],
            "Tags": asg_tags(plan),
        },
    }


# --- database ----------------------------------------------------------------------------------
def _database(plan: DeploymentPlan) -> dict[str, Any]:
    db = plan.database
    assert db is not None
    port = db_port(plan)
    return {
        # Deleted with the stack on purpose: destroy leaves nothing tagged behind. The DB snapshot
        # keeps the data; a restore sets a new master password.
        "DbSecret": {
            "Type": "AWS::SecretsManager::Secret",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "Description": f"Master credentials of the {db.engine} database of HiveMind deployment "
                f"{plan.deployment_id}",
                "GenerateSecretString": {
                    "SecretStringTemplate": json.dumps({"username": DB_USERNAME, "dbname": DB_NAME}),
                    "GenerateStringKey": "password",
                    "PasswordLength": 32,
                    "ExcludeCharacters": DB_PASSWORD_EXCLUDE,
                },
                "Tags": tags(plan, "db"),
            },
        },
        "DbSubnetGroup": {
            "Type": "AWS::RDS::DBSubnetGroup",
            "Properties": {
                "DBSubnetGroupDescription": f"{plan.stack_name} database: isolated subnets",
                "SubnetIds": [ref("DbSubnetA"), ref("DbSubnetB")],
                "Tags": tags(plan, "db"),
            },
        },
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": "Snapshot",
            "UpdateReplacePolicy": "Snapshot",
            "Properties": {
                "Engine": db.engine,
                "EngineVersion": db.engine_version,
                "DBInstanceClass": db.instance_class,
                "AllocatedStorage": str(db.storage_gb),
                "StorageType": "gp3",
                "StorageEncrypted": True,
                "PubliclyAccessible": False,
                "MultiAZ": db.multi_az,
                "DBName": DB_NAME,
                "Port": str(port),
                "MasterUsername": sub("{{resolve:secretsmanager:${DbSecret}:SecretString:username}}"),
                "MasterUserPassword": sub("{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"),
                "DBSubnetGroupName": ref("DbSubnetGroup"),
                "VPCSecurityGroups": [get_att("DbSecurityGroup", "GroupId")],
                "BackupRetentionPeriod": db.backup_retention_days,
                "CopyTagsToSnapshot": True,
                "DeletionProtection": False,
                "AutoMinorVersionUpgrade": True,
                "Tags": tags(plan, "db"),
            },
        },
        # Adds host, port, engine and the instance id to the secret, so the install script builds
        # DATABASE_URL from the secret alone.
        "DbSecretAttachment": {
            "Type": "AWS::SecretsManager::SecretTargetAttachment",
            "Properties": {
                "SecretId": ref("DbSecret"),
                "TargetId": ref("Database"),
                "TargetType": "AWS::RDS::DBInstance",
            },
        },
    }


# --- monitoring --------------------------------------------------------------------------------
def _alarm(
    plan: DeploymentPlan,
    *,
    description: str,
    namespace: str,
    metric: str,
    dimensions: list[tuple[str, Any]],
    statistic: str,
    comparison: str,
    threshold: float,
    period_s: int = 300,
    evaluation_periods: int = 1,
    datapoints: int | None = None,
) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmDescription": f"{plan.stack_name}: {description}",
        "Namespace": namespace,
        "MetricName": metric,
        "Dimensions": [{"Name": name, "Value": value} for name, value in dimensions],
        "Statistic": statistic,
        "Period": period_s,
        "EvaluationPeriods": evaluation_periods,
        "Threshold": threshold,
        "ComparisonOperator": comparison,
        "TreatMissingData": "notBreaching",
        "Tags": tags(plan),
    }
    if datapoints is not None:
        props["DatapointsToAlarm"] = datapoints
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": props}


def _alarms(plan: DeploymentPlan) -> dict[str, Any]:
    lb = ("LoadBalancer", get_att("LoadBalancer", "LoadBalancerFullName"))
    tg = ("TargetGroup", get_att("TargetGroup", "TargetGroupFullName"))
    ge = "GreaterThanOrEqualToThreshold"
    r: dict[str, Any] = {
        "Alb5xxAlarm": _alarm(
            plan, description="the load balancer answered 5xx (no healthy target, app crashed or timed out)",
            namespace="AWS/ApplicationELB", metric="HTTPCode_ELB_5XX_Count", dimensions=[lb],
            statistic="Sum", comparison=ge, threshold=10,
        ),
        "Target5xxAlarm": _alarm(
            plan, description="the app answered 5xx", namespace="AWS/ApplicationELB",
            metric="HTTPCode_Target_5XX_Count", dimensions=[lb], statistic="Sum", comparison=ge, threshold=10,
        ),
        "UnhealthyHostsAlarm": _alarm(
            plan, description="an instance fails the load balancer's health check",
            namespace="AWS/ApplicationELB", metric="UnHealthyHostCount", dimensions=[tg, lb],
            statistic="Maximum", comparison=ge, threshold=1, period_s=60, evaluation_periods=5, datapoints=3,
        ),
        "InstanceCpuAlarm": _alarm(
            plan, description="instance CPU above 80% for 15 minutes", namespace="AWS/EC2",
            metric="CPUUtilization", dimensions=[("AutoScalingGroupName", ref("AutoScalingGroup"))],
            statistic="Average", comparison="GreaterThanThreshold", threshold=80, evaluation_periods=3,
        ),
    }
    if plan.database is not None:
        db = ("DBInstanceIdentifier", ref("Database"))
        free_bytes = plan.database.storage_gb * 1024**3 // 10  # alarm under 10% free
        r["DbCpuAlarm"] = _alarm(
            plan, description="database CPU above 80% for 15 minutes", namespace="AWS/RDS",
            metric="CPUUtilization", dimensions=[db], statistic="Average",
            comparison="GreaterThanThreshold", threshold=80, evaluation_periods=3,
        )
        r["DbFreeStorageAlarm"] = _alarm(
            plan, description="database free storage under 10%", namespace="AWS/RDS",
            metric="FreeStorageSpace", dimensions=[db], statistic="Minimum",
            comparison="LessThanThreshold", threshold=free_bytes,
        )
    return r


def _dashboard(plan: DeploymentPlan) -> dict[str, Any]:
    """One dashboard per deployment; its body is JSON with ${...} filled by Fn::Sub."""
    lb = ["LoadBalancer", "${LoadBalancer.LoadBalancerFullName}"]
    tg = ["TargetGroup", "${TargetGroup.TargetGroupFullName}"]
    asg = ["AutoScalingGroupName", "${AutoScalingGroup}"]
    widgets = [
        _widget("Requests and errors", [
            ["AWS/ApplicationELB", "RequestCount", *lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", *lb, {"stat": "Sum"}],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", *lb, {"stat": "Sum"}],
        ], 0),
        _widget("Response time (p90, s)", [
            ["AWS/ApplicationELB", "TargetResponseTime", *lb, {"stat": "p90"}],
        ], 1),
        _widget("Target health", [
            ["AWS/ApplicationELB", "HealthyHostCount", *tg, *lb, {"stat": "Minimum"}],
            ["AWS/ApplicationELB", "UnHealthyHostCount", *tg, *lb, {"stat": "Maximum"}],
        ], 2),
        _widget("Instance CPU (%)", [["AWS/EC2", "CPUUtilization", *asg, {"stat": "Average"}]], 3),
    ]
    if plan.database is not None:
        db = ["DBInstanceIdentifier", "${Database}"]
        widgets += [
            _widget("Database CPU (%) and connections", [
                ["AWS/RDS", "CPUUtilization", *db, {"stat": "Average"}],
                ["AWS/RDS", "DatabaseConnections", *db, {"stat": "Maximum", "yAxis": "right"}],
            ], 4),
            _widget("Database free storage (bytes)", [
                ["AWS/RDS", "FreeStorageSpace", *db, {"stat": "Minimum"}],
            ], 5),
        ]
    body = json.dumps({"widgets": widgets}, sort_keys=True, separators=(",", ":"))
    return {
        "Dashboard": {
            "Type": "AWS::CloudWatch::Dashboard",
            "Properties": {"DashboardName": dashboard_name(plan.deployment_id), "DashboardBody": sub(body)},
        }
    }


def _widget(title: str, metrics: list[list[Any]], index: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": (index % 2) * 12,
        "y": (index // 2) * 6,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": "${AWS::Region}",
            "metrics": metrics,
            "period": 60,
            "view": "timeSeries",
            "stacked": False,
        },
    }


# --- outputs -----------------------------------------------------------------------------------
def _outputs(plan: DeploymentPlan) -> dict[str, Any]:
    if plan.https:
        url: Any = f"https://{plan.domain_name}/"
    else:
        url = sub("http://${LoadBalancer.DNSName}/")
    out: dict[str, Any] = {
        OUT_URL: {"Description": "Where the app answers", "Value": url},
        OUT_LB_ARN: {"Value": ref("LoadBalancer")},
        OUT_LB_DNS: {"Value": get_att("LoadBalancer", "DNSName")},
        OUT_TG_ARN: {"Value": ref("TargetGroup")},
        OUT_ASG: {"Value": ref("AutoScalingGroup")},
        OUT_INSTANCE_SG: {"Value": get_att("InstanceSecurityGroup", "GroupId")},
        OUT_RELEASE_PARAMETER: {"Value": ref("ReleaseParameter")},
    }
    if plan.database is not None:
        out[OUT_DB_ENDPOINT] = {"Value": get_att("Database", "Endpoint.Address")}
        out[OUT_DB_PORT] = {"Value": get_att("Database", "Endpoint.Port")}
        out[OUT_DB_SECRET] = {"Value": ref("DbSecret")}
    out[OUT_DASHBOARD] = {"Value": ref("Dashboard")}
    return out
