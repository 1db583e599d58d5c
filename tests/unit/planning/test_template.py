"""build_template: cfn-lint clean for every combination, secure-by-default invariants (hypothesis)."""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from hivemind.constants import TAG_APP, TAG_DEPLOYMENT_ID, TAG_MANAGED_BY
from hivemind.models import DeploymentPlan
from hivemind.planning.plan import make_plan
from hivemind.planning.template import build_template, resources_of, to_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ._support import LANGUAGES, PRICED_REGIONS, cert_arn, make_stack

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
}
OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
BASE_OUTPUTS = {
    "Url", "LoadBalancerArn", "LoadBalancerDnsName", "TargetGroupArn", "AutoScalingGroupName",
    "InstanceSecurityGroupId", "ReleaseParameterName", "DashboardName",
}
DB_OUTPUTS = {"DbEndpoint", "DbPort", "DbSecretArn"}
CFN_TEMPLATE_BODY_LIMIT = 51_200


def plan_for(language: str, database: str | None, preset: str, **kwargs: Any) -> DeploymentPlan:
    return make_plan(make_stack(language, database), deployment_id="d-42", app_name="demo", preset=preset, **kwargs)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


# --- cfn-lint: zero errors and zero warnings ---------------------------------------------------
COMBINATIONS = list(itertools.product(LANGUAGES, (None, "postgres", "mysql"), ("stage-1", "production")))


@pytest.mark.parametrize(("language", "database", "preset"), COMBINATIONS)
def test_cfn_lint_clean_for_every_combination(language: str, database: str | None, preset: str) -> None:
    plan = plan_for(language, database, preset)
    matches = lint(to_json(build_template(plan)), regions=[plan.region])
    assert [str(m) for m in matches] == []


@pytest.mark.parametrize("region", PRICED_REGIONS)
def test_cfn_lint_clean_with_https_and_informational_checks_in_every_priced_region(region: str) -> None:
    plan = plan_for("node", "postgres", "production", region=region,
                    domain_name="app.example.com", certificate_arn=cert_arn(region))
    config = ManualArgs(regions=[region], include_checks=["I"])
    matches = lint(to_json(build_template(plan)), config=config)
    assert [str(m) for m in matches] == []


def test_cfn_lint_catches_a_broken_template() -> None:
    """Guard: the lint tests above would fail if the template were wrong."""
    template = build_template(plan_for("go", None, "stage-1"))
    template["Resources"]["TargetGroup"]["Properties"]["HealthCheckIntervalSeconds"] = "often"
    assert any("E3012" in str(m) for m in lint(to_json(template)))


# --- determinism, size, outputs ----------------------------------------------------------------
def test_same_plan_gives_the_same_json() -> None:
    first = to_json(build_template(plan_for("python", "postgres", "production")))
    second = to_json(build_template(plan_for("python", "postgres", "production")))
    assert first == second


def test_largest_template_fits_a_direct_template_body() -> None:
    plan = plan_for("node", "mysql", "production", domain_name="app.example.com",
                    certificate_arn=cert_arn("us-east-1"))
    assert len(to_json(build_template(plan)).encode()) < CFN_TEMPLATE_BODY_LIMIT


@pytest.mark.parametrize("database", [None, "postgres"])
def test_output_keys_are_the_contract(database: str | None) -> None:
    outputs = build_template(plan_for("go", database, "stage-1"))["Outputs"]
    assert set(outputs) == (BASE_OUTPUTS | DB_OUTPUTS if database else BASE_OUTPUTS)


def test_url_output_http_by_default_https_with_domain() -> None:
    http = build_template(plan_for("go", None, "stage-1"))["Outputs"]["Url"]["Value"]
    assert http == {"Fn::Sub": "http://${LoadBalancer.DNSName}/"}
    plan = plan_for("go", None, "stage-1", domain_name="app.example.com", certificate_arn=cert_arn("us-east-1"))
    assert build_template(plan)["Outputs"]["Url"]["Value"] == "https://app.example.com/"


def test_resources_of_lists_every_resource_in_order() -> None:
    template = build_template(plan_for("python", "postgres", "stage-1"))
    summary = resources_of(template)
    assert [(r.logical_id, r.type) for r in summary] == [
        (lid, r["Type"]) for lid, r in template["Resources"].items()
    ]
    assert {"Vpc", "LoadBalancer", "AutoScalingGroup", "Database", "DbSecret"} <= {r.logical_id for r in summary}


# --- preset-specific shape ---------------------------------------------------------------------
def test_stage_1_has_no_nat_and_a_public_ip_instance_in_one_subnet() -> None:
    template = build_template(plan_for("python", None, "stage-1"))
    assert not of_type(template, "AWS::EC2::NatGateway")
    asg = template["Resources"]["AutoScalingGroup"]["Properties"]
    assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == ("1", "1", "1")
    assert asg["VPCZoneIdentifier"] == [{"Ref": "PublicSubnetA"}]
    interface = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"][0]
    assert interface["AssociatePublicIpAddress"] is True


def test_production_uses_private_subnets_behind_a_nat_and_scales() -> None:
    template = build_template(plan_for("python", "postgres", "production"))
    resources = template["Resources"]
    assert len(of_type(template, "AWS::EC2::NatGateway")) == 1
    asg = resources["AutoScalingGroup"]["Properties"]
    assert (asg["MinSize"], asg["MaxSize"], asg["DesiredCapacity"]) == ("2", "4", "2")
    assert asg["VPCZoneIdentifier"] == [{"Ref": "AppSubnetA"}, {"Ref": "AppSubnetB"}]
    interface = resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["NetworkInterfaces"][0]
    assert interface["AssociatePublicIpAddress"] is False
    assert resources["AppDefaultRoute"]["Properties"]["NatGatewayId"] == {"Ref": "NatGateway"}
    assert resources["Database"]["Properties"]["MultiAZ"] is True
    assert "CpuScalingPolicy" in resources


def test_https_listener_and_redirect() -> None:
    plan = plan_for("go", None, "stage-1", domain_name="app.example.com", certificate_arn=cert_arn("us-east-1"))
    resources = build_template(plan)["Resources"]
    https = resources["HttpsListener"]["Properties"]
    assert https["Port"] == 443 and https["Protocol"] == "HTTPS"
    assert https["Certificates"] == [{"CertificateArn": cert_arn("us-east-1")}]
    redirect = resources["HttpListener"]["Properties"]["DefaultActions"][0]
    assert redirect["Type"] == "redirect" and redirect["RedirectConfig"]["Protocol"] == "HTTPS"


def test_target_group_health_check_follows_the_plan() -> None:
    plan = make_plan(make_stack("node", port=3000, health_path="/healthz"), deployment_id="d1", app_name="demo")
    tg = build_template(plan)["Resources"]["TargetGroup"]["Properties"]
    assert tg["Port"] == 3000
    assert tg["HealthCheckPath"] == "/healthz"
    assert tg["HealthyThresholdCount"] >= 2 and tg["HealthCheckIntervalSeconds"] > 0


def test_instance_role_is_scoped_to_its_own_deployment() -> None:
    template = build_template(plan_for("python", "postgres", "stage-1"))
    role = template["Resources"]["InstanceRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"}
    ]
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["ReadOwnReleases"]["Action"] == "s3:GetObject"
    assert statements["ReadOwnReleases"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:s3:::hivemind-artifacts-${AWS::AccountId}-${AWS::Region}/releases/d-42/*"
    }
    assert statements["ReadReleasePointer"]["Resource"]["Fn::Sub"].endswith(
        ":parameter/hivemind/d-42/current-release"
    )
    assert statements["ReadDbSecret"] == {
        "Sid": "ReadDbSecret", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "DbSecret"},
    }
    for statement in statements.values():
        assert "*" not in json.dumps(statement["Action"])


def test_release_parameter_has_its_explicit_name_and_starts_at_none() -> None:
    props = build_template(plan_for("go", None, "stage-1"))["Resources"]["ReleaseParameter"]["Properties"]
    assert props["Name"] == "/hivemind/d-42/current-release"
    assert props["Value"] == "none"


def test_database_credentials_come_from_the_generated_secret() -> None:
    resources = build_template(plan_for("python", "mysql", "stage-1"))["Resources"]
    generate = resources["DbSecret"]["Properties"]["GenerateSecretString"]
    assert json.loads(generate["SecretStringTemplate"])["username"]
    for char in "@/:?#%& \"'":
        assert char in generate["ExcludeCharacters"]
    db = resources["Database"]["Properties"]
    assert db["MasterUserPassword"] == {
        "Fn::Sub": "{{resolve:secretsmanager:${DbSecret}:SecretString:password}}"
    }
    assert resources["Database"]["DeletionPolicy"] == resources["Database"]["UpdateReplacePolicy"] == "Snapshot"
    assert db["DeletionProtection"] is False
    assert db["Port"] == "3306"
    attachment = resources["DbSecretAttachment"]["Properties"]
    assert attachment == {"SecretId": {"Ref": "DbSecret"}, "TargetId": {"Ref": "Database"},
                          "TargetType": "AWS::RDS::DBInstance"}


def test_user_data_only_records_where_releases_come_from() -> None:
    data = build_template(plan_for("go", None, "stage-1"))["Resources"]["LaunchTemplate"]["Properties"][
        "LaunchTemplateData"]
    script = data["UserData"]["Fn::Base64"]["Fn::Sub"]
    assert script.startswith("#!/bin/bash\n")
    assert "set -euo pipefail" in script
    assert "HIVEMIND_RELEASE_PARAMETER=/hivemind/d-42/current-release" in script
    assert "systemctl enable --now amazon-ssm-agent" in script
    # Fn::Sub would try to resolve any other ${...} in the script.
    assert re.findall(r"\$\{([^}]*)\}", script) == ["AWS::Region"]
    assert script.isascii()


def test_ami_is_the_latest_al2023_arm64_parameter() -> None:
    template = build_template(plan_for("go", None, "stage-1"))
    parameter = template["Parameters"]["LatestAmiId"]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert parameter["Default"] == "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    data = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {"Ref": "LatestAmiId"}


# --- hypothesis: invariants over random plans --------------------------------------------------
@st.composite
def plans(draw: st.DrawFn) -> DeploymentPlan:
    language = draw(st.sampled_from(LANGUAGES))
    database = draw(st.sampled_from([None, "postgres", "mysql", "mongodb", "redis"]))
    port = draw(st.integers(min_value=1, max_value=65535).filter(lambda p: p != 22))
    health = draw(st.sampled_from(["/", "/health", "/healthz", "/api/v1/status?full=1"]))
    region = draw(st.sampled_from(PRICED_REGIONS + ("sa-east-1", "ap-northeast-1")))
    name = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
    https = draw(st.booleans())
    extra = {"domain_name": "app.example.com", "certificate_arn": cert_arn(region)} if https else {}
    return make_plan(
        make_stack(language, database, port=port, health_path=health),
        deployment_id=draw(name), app_name=draw(name), preset=draw(st.sampled_from(["stage-1", "production"])),
        region=region, **extra,
    )


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def supports_tags(kind: str) -> bool:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", kind).schema
    return "Tags" in schema.get("properties", {})


def tag_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):  # AWS::SSM::Parameter takes a map
        return tags
    return {t["Key"]: t["Value"] for t in tags}


@PROPERTY_SETTINGS
@given(plans())
def test_every_taggable_resource_is_tagged(plan: DeploymentPlan) -> None:
    expected = {TAG_DEPLOYMENT_ID: plan.deployment_id, TAG_MANAGED_BY: "hivemind", TAG_APP: plan.app_name}
    template = build_template(plan)
    for lid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if supports_tags(resource["Type"]):
            assert expected.items() <= tag_dict(props.get("Tags", [])).items(), lid
    for tag in template["Resources"]["AutoScalingGroup"]["Properties"]["Tags"]:
        assert tag["PropagateAtLaunch"] is True
    lt = template["Resources"]["LaunchTemplate"]["Properties"]
    specs = {s["ResourceType"]: tag_dict(s["Tags"]) for s in lt["LaunchTemplateData"]["TagSpecifications"]}
    assert {"instance", "volume"} <= set(specs)
    for tags in [*specs.values(), tag_dict(lt["TagSpecifications"][0]["Tags"])]:
        assert expected.items() <= tags.items()


def ingress_rules(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(security group logical id, rule) for inline rules and standalone ingress resources."""
    rules = []
    for lid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules += [(lid, rule) for rule in props.get("SecurityGroupIngress", [])]
        elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            group = props.get("GroupId", {})
            target = group.get("Ref") or group.get("Fn::GetAtt", ["?"])[0]
            rules.append((target, props))
    return rules


def covers(rule: dict[str, Any], port: int) -> bool:
    if str(rule["IpProtocol"]) in ("-1", "all"):
        return True
    return int(rule.get("FromPort", 0)) <= port <= int(rule.get("ToPort", 65535))


@PROPERTY_SETTINGS
@given(plans())
def test_only_the_alb_is_open_to_the_internet_and_never_port_22(plan: DeploymentPlan) -> None:
    template = build_template(plan)
    rules = ingress_rules(template)
    assert rules
    allowed_open = {80, 443} if plan.https else {80}
    for group, rule in rules:
        assert str(rule["IpProtocol"]) != "-1", f"{group} admits all traffic"
        assert not covers(rule, 22), f"{group} admits port 22"
        if rule.get("CidrIp") in OPEN_CIDRS or rule.get("CidrIpv6") in OPEN_CIDRS:
            assert group == "AlbSecurityGroup"
            assert rule["FromPort"] == rule["ToPort"] and rule["FromPort"] in allowed_open
    instance_rules = [rule for group, rule in rules if group == "InstanceSecurityGroup"]
    assert instance_rules == [
        {"IpProtocol": "tcp", "FromPort": plan.port, "ToPort": plan.port,
         "SourceSecurityGroupId": {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]},
         "Description": "app port from the load balancer"}
    ]
    assert not of_type(template, "AWS::EC2::NetworkAclEntry")


@PROPERTY_SETTINGS
@given(plans())
def test_database_is_private_and_encrypted(plan: DeploymentPlan) -> None:
    template = build_template(plan)
    resources = template["Resources"]
    databases = of_type(template, "AWS::RDS::DBInstance")
    assert len(databases) == (1 if plan.database else 0)
    routed_tables = {r["Properties"]["RouteTableId"]["Ref"] for r in of_type(template, "AWS::EC2::Route").values()}
    for db in databases.values():
        props = db["Properties"]
        assert props["PubliclyAccessible"] is False
        assert props["StorageEncrypted"] is True
        group = resources[props["DBSubnetGroupName"]["Ref"]]["Properties"]
        for subnet in group["SubnetIds"]:
            subnet_id = subnet["Ref"]
            assert resources[subnet_id]["Properties"]["MapPublicIpOnLaunch"] is False
            table = resources[f"{subnet_id}RouteTableAssociation"]["Properties"]["RouteTableId"]["Ref"]
            assert table not in routed_tables, f"{subnet_id} has a route out of the VPC"
        db_sg = [resources[g["Fn::GetAtt"][0]] for g in props["VPCSecurityGroups"]]
        for sg in db_sg:
            for rule in sg["Properties"]["SecurityGroupIngress"]:
                assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": ["InstanceSecurityGroup", "GroupId"]}
                assert rule["FromPort"] == rule["ToPort"] == int(props["Port"])


@PROPERTY_SETTINGS
@given(plans())
def test_instances_require_imdsv2_and_encrypt_volumes(plan: DeploymentPlan) -> None:
    template = build_template(plan)
    templates = of_type(template, "AWS::EC2::LaunchTemplate")
    assert templates
    for lt in templates.values():
        data = lt["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert data["BlockDeviceMappings"]
        for mapping in data["BlockDeviceMappings"]:
            assert mapping["Ebs"]["Encrypted"] is True
    assert not of_type(template, "AWS::EC2::Instance")  # every instance comes from the launch template


def referenced_names(node: Any) -> list[str]:
    """Every logical name a Ref, GetAtt or Sub inside ``node`` points to."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                found.append(value)
            elif key == "Fn::GetAtt":
                found.append(value[0] if isinstance(value, list) else value.split(".")[0])
            elif key == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                found += [m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text)]
                if isinstance(value, list):
                    found += referenced_names(value[1])
            else:
                found += referenced_names(value)
    elif isinstance(node, list):
        for item in node:
            found += referenced_names(item)
    return found


@PROPERTY_SETTINGS
@given(plans())
def test_every_reference_points_to_something_that_exists(plan: DeploymentPlan) -> None:
    template = build_template(plan)
    known = set(template["Resources"]) | set(template.get("Parameters", {})) | PSEUDO_PARAMETERS
    names = referenced_names(template["Resources"]) + referenced_names(template["Outputs"])
    assert names
    assert set(names) <= known, set(names) - known
    for lid, resource in template["Resources"].items():
        depends = resource.get("DependsOn", [])
        for target in [depends] if isinstance(depends, str) else depends:
            assert target in template["Resources"], f"{lid} depends on missing {target}"


@PROPERTY_SETTINGS
@given(plans())
def test_subnets_are_inside_the_vpc_and_do_not_overlap(plan: DeploymentPlan) -> None:
    template = build_template(plan)
    vpc = ipaddress.ip_network(template["Resources"]["Vpc"]["Properties"]["CidrBlock"])
    subnets = [ipaddress.ip_network(s["Properties"]["CidrBlock"])
               for s in of_type(template, "AWS::EC2::Subnet").values()]
    assert all(s.subnet_of(vpc) for s in subnets)
    assert all(not a.overlaps(b) for a, b in itertools.combinations(subnets, 2))
