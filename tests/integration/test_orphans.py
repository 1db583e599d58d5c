"""HiveMind Janitor against real AWS APIs: moto (mock_aws) first, then one run on a live local cloud.

Four deployments leave tagged resources: one destroyed, one unknown to the table, one failed long
ago (past its cleanup timer), one live. The janitor lists the first three with their reasons and
costs, deletes them in dependency order, and never touches the live one.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hivemind import constants
from hivemind.adapters.aws import client
from hivemind.adapters.events import EventBridgePublisher
from hivemind.adapters.janitor import ResourceJanitor, parse_arn
from hivemind.adapters.state_store import DynamoStateStore
from hivemind.adapters.tagging import TaggedResources
from hivemind.logic.orphans import arn_kind, delete_orphans, find_orphans, sweep
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, ErrorEntry
from hivemind.settings import Settings
from moto import mock_aws

REGION = "us-east-1"
GONE, GHOST, OLD, LIVE = "gone-000001", "ghost-000002", "old-000003", "live-000004"


def _tags(dep: str) -> list[dict[str, str]]:
    return [{"Key": constants.TAG_DEPLOYMENT_ID, "Value": dep}, {"Key": constants.TAG_MANAGED_BY, "Value": "hivemind"}]


def _spec(kind: str, dep: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": _tags(dep)}]


def _table() -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=constants.TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gsi1pk", "gsi1sk")],
        GlobalSecondaryIndexes=[{
            "IndexName": constants.STATUS_INDEX,
            "KeySchema": [{"AttributeName": "gsi1pk", "KeyType": "HASH"},
                          {"AttributeName": "gsi1sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )


def _network(dep: str, cidr: str) -> dict[str, str]:
    """A VPC like the application template's: two subnets, IGW, route table, two SGs (one names the other)."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16", TagSpecifications=_spec("vpc", dep))["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=f"{REGION}{az}",
                                 TagSpecifications=_spec("subnet", dep))["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    igw = ec2.create_internet_gateway(TagSpecifications=_spec("internet-gateway", dep))["InternetGateway"]
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc, TagSpecifications=_spec("route-table", dep))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw["InternetGatewayId"])
    for subnet in subnets:
        ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
    lb_sg = ec2.create_security_group(GroupName=f"{dep}-lb", Description="lb", VpcId=vpc,
                                      TagSpecifications=_spec("security-group", dep))["GroupId"]
    app_sg = ec2.create_security_group(GroupName=f"{dep}-app", Description="app", VpcId=vpc,
                                       TagSpecifications=_spec("security-group", dep))["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=app_sg, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": lb_sg}]}])
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t4g.micro",
                                 SubnetId=subnets[0], SecurityGroupIds=[app_sg],
                                 TagSpecifications=_spec("instance", dep))["Instances"][0]["InstanceId"]
    return {"vpc": vpc, "subnet": subnets[0], "subnet2": subnets[1], "lb_sg": lb_sg, "app_sg": app_sg,
            "instance": instance}


def _app_resources(dep: str, net: dict[str, str]) -> None:
    """Load balancer, target group, database, secret, alarm, log group, SSM parameter."""
    elb = boto3.client("elbv2", region_name=REGION)
    lb = elb.create_load_balancer(Name=f"{dep}-lb", Subnets=[net["subnet"], net["subnet2"]],
                                  SecurityGroups=[net["lb_sg"]], Tags=_tags(dep))["LoadBalancers"][0]
    tg = elb.create_target_group(Name=f"{dep}-tg", Protocol="HTTP", Port=8000, VpcId=net["vpc"],
                                 Tags=_tags(dep))["TargetGroups"][0]
    elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_subnet_group(DBSubnetGroupName=f"{dep}-db", DBSubnetGroupDescription="db",
                               SubnetIds=[net["subnet"], net["subnet2"]], Tags=_tags(dep))
    rds.create_db_instance(DBInstanceIdentifier=f"{dep}-db", DBInstanceClass="db.t4g.micro", Engine="postgres",
                           AllocatedStorage=20, MasterUsername="app", MasterUserPassword="not-a-real-password",
                           DBSubnetGroupName=f"{dep}-db", VpcSecurityGroupIds=[net["app_sg"]], Tags=_tags(dep))
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=f"{dep}/db", SecretString="x",
                                                                     Tags=_tags(dep))
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName=f"{dep}-cpu", MetricName="CPUUtilization", Namespace="AWS/EC2", Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=90, ComparisonOperator="GreaterThanThreshold", Tags=_tags(dep))
    boto3.client("logs", region_name=REGION).create_log_group(logGroupName=f"/hivemind/{dep}",
                                                               tags={t["Key"]: t["Value"] for t in _tags(dep)})
    boto3.client("ssm", region_name=REGION).put_parameter(Name=f"/hivemind/{dep}/url", Value="http://x",
                                                          Type="String", Tags=_tags(dep))


class RecordingJanitor(ResourceJanitor):
    """The real AWS janitor, recording the order of its deletes."""

    def __init__(self) -> None:
        super().__init__(REGION, wait_delay_s=1, wait_attempts=5)
        self.order: list[str] = []

    def delete(self, arn: str) -> bool:
        self.order.append(arn)
        return super().delete(arn)


@pytest.fixture
def world(monkeypatch) -> Any:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # mock_aws only intercepts AWS hosts
    client.cache_clear()
    with mock_aws():
        _table()
        store = DynamoStateStore(constants.TABLE_NAME, resource=boto3.resource("dynamodb", region_name=REGION))
        now = datetime.now(UTC)
        store.create(DeploymentState(id=GONE, repo="r", status=DeploymentStatus.DESTROYED))
        store.create(DeploymentState(id=LIVE, repo="r", status=DeploymentStatus.SUCCEEDED))
        err = ErrorEntry(deployment_id=OLD, at=now - timedelta(hours=3), stage="deploy", type="CommandFailed",
                         message="app exits on start", remediation="fix it")
        store.create(DeploymentState(id=OLD, repo="r", status=DeploymentStatus.FAILED, error=err))
        nets = {GONE: _network(GONE, "10.1"), LIVE: _network(LIVE, "10.4")}
        _app_resources(GONE, nets[GONE])
        _app_resources(LIVE, nets[LIVE])
        ec2 = boto3.client("ec2", region_name=REGION)
        ghost_sg = ec2.create_security_group(GroupName="ghost", Description="nobody's",
                                             TagSpecifications=_spec("security-group", GHOST))["GroupId"]
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t4g.nano",
                          SecurityGroupIds=[ghost_sg], TagSpecifications=_spec("instance", GHOST))
        boto3.client("secretsmanager", region_name=REGION).create_secret(Name=f"{OLD}/db", SecretString="x",
                                                                         Tags=_tags(OLD))
        # The event bus with a rule that copies Orphans Found to a queue we can read.
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=constants.EVENT_BUS_NAME)
        sqs = boto3.client("sqs", region_name=REGION)
        queue = sqs.create_queue(QueueName="orphans-found")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="orphans", EventBusName=constants.EVENT_BUS_NAME,
                        EventPattern=json.dumps({"detail-type": [constants.EV_ORPHANS]}))
        events.put_targets(Rule="orphans", EventBusName=constants.EVENT_BUS_NAME,
                           Targets=[{"Id": "q", "Arn": queue_arn}])
        janitor = RecordingJanitor()
        ports = Ports(settings=Settings(cleanup_timer_hours=1), store=store,
                      events=EventBridgePublisher(constants.EVENT_BUS_NAME), objects=None, stacks=None,
                      commands=None, fleet=None, probe=None, repos=None, tagged=TaggedResources(REGION),
                      extra={"janitor": janitor})
        yield {"ports": ports, "janitor": janitor, "nets": nets, "sqs": sqs, "queue": queue}
    client.cache_clear()


def test_listing_reasons_and_costs(world: dict[str, Any]) -> None:
    found = find_orphans(world["ports"])
    by_dep: dict[str, list[str]] = {}
    for o in found:
        by_dep.setdefault(o.deployment_id, []).append(o.kind)
    assert set(by_dep) == {GONE, GHOST, OLD}  # never the live deployment
    assert {o.reason.split(" (")[0] for o in found if o.deployment_id == OLD} == {"failed past its cleanup timer"}
    assert {o.reason for o in found if o.deployment_id == GHOST} == {"unknown deployment"}
    assert {o.reason for o in found if o.deployment_id == GONE} == {"deployment destroyed"}
    assert {"ec2:instance", "ec2:vpc", "ec2:security-group", "rds:db", "elasticloadbalancing:loadbalancer",
            "secretsmanager:secret", "cloudwatch:alarm", "ssm:parameter", "logs:log-group"} <= set(by_dep[GONE])
    cost = {(o.deployment_id, o.kind): o.monthly_usd for o in found}
    # moto gives each instance an 8 GB root volume: t4g.micro 0.0084 x 730 + 8 x 0.08 = 6.77
    assert cost[(GONE, "ec2:instance")] == pytest.approx(6.77)
    # db.t4g.micro postgres single-AZ: 0.016 x 730 + 20 GB x 0.115 = 13.98
    assert cost[(GONE, "rds:db")] == pytest.approx(13.98)
    assert cost[(OLD, "secretsmanager:secret")] == pytest.approx(0.40)
    vpc = next(o for o in found if o.kind == "ec2:vpc")
    assert vpc.monthly_usd == 0 and "no price" in vpc.cost_note


def test_a_failed_deployment_within_its_timer_is_not_an_orphan(world: dict[str, Any]) -> None:
    ports = world["ports"]
    ports.settings = Settings(cleanup_timer_hours=24)
    assert OLD not in {o.deployment_id for o in find_orphans(ports)}


def test_delete_in_dependency_order_and_leave_the_live_deployment(world: dict[str, Any]) -> None:
    ports, janitor = world["ports"], world["janitor"]
    found = find_orphans(ports)
    report = delete_orphans(found, ports)
    assert report.failed == [], report.failed
    assert sorted(report.deleted) == sorted(o.arn for o in found)
    order = [arn_kind(arn) for arn in janitor.order]

    def first(kind: str) -> int:
        return order.index(kind)

    def last(kind: str) -> int:
        return len(order) - 1 - order[::-1].index(kind)

    assert last("ec2:instance") < first("ec2:security-group")
    # The listener is untagged (as on AWS): the load balancer goes first and takes it along.
    assert last("elasticloadbalancing:loadbalancer") < first("elasticloadbalancing:targetgroup")
    assert len(order) == len(found), "every orphan deleted at the first try, none retried"
    assert last("elasticloadbalancing:loadbalancer") < first("ec2:security-group")
    assert last("rds:db") < first("ec2:security-group")
    assert last("ec2:security-group") < first("ec2:subnet") and last("ec2:subnet") < first("ec2:vpc")
    assert last("ec2:internet-gateway") < first("ec2:vpc")
    assert find_orphans(ports) == []
    # Deleting the same list again: everything is already gone, which counts as deleted.
    again = delete_orphans(found, ports)
    assert again.failed == [] and sorted(again.already_gone) == sorted(o.arn for o in found)
    # The live deployment keeps every resource.
    live = TaggedResources(REGION).arns(LIVE)
    kinds = {arn_kind(r["arn"]) for r in live}
    assert {"ec2:instance", "ec2:vpc", "ec2:security-group", "rds:db", "elasticloadbalancing:loadbalancer",
            "secretsmanager:secret"} <= kinds
    net = world["nets"][LIVE]
    inst = boto3.client("ec2", region_name=REGION).describe_instances(InstanceIds=[net["instance"]])
    assert inst["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    db = boto3.client("rds", region_name=REGION).describe_db_instances(DBInstanceIdentifier=f"{LIVE}-db")
    assert db["DBInstances"][0]["DBInstanceStatus"] == "available"


def test_the_orphaned_database_leaves_a_final_snapshot(world: dict[str, Any]) -> None:
    ports = world["ports"]
    db = [o for o in find_orphans(ports) if o.kind == "rds:db"]
    assert [parse_arn(o.arn).name for o in db] == [f"{GONE}-db"]
    delete_orphans(db, ports)
    snaps = boto3.client("rds", region_name=REGION).describe_db_snapshots(DBInstanceIdentifier=f"{GONE}-db",
                                                                      SnapshotType="manual")
    assert [s["DBSnapshotIdentifier"].startswith(f"{GONE}-db-orphan-") for s in snaps["DBSnapshots"]] == [True]


def test_sweep_emits_orphans_found_and_only_lists(world: dict[str, Any]) -> None:
    ports, janitor = world["ports"], world["janitor"]
    result = sweep(ports)
    assert result.deleted is None and janitor.order == []
    msgs = world["sqs"].receive_message(QueueUrl=world["queue"], MaxNumberOfMessages=10)["Messages"]
    [event] = [json.loads(m["Body"]) for m in msgs]
    assert event["detail-type"] == constants.EV_ORPHANS and event["source"] == constants.EVENT_SOURCE
    assert event["detail"]["count"] == result.count > 0
    assert event["detail"]["monthly_usd"] == pytest.approx(result.monthly_usd) and result.monthly_usd > 20
    assert find_orphans(ports) != []  # nothing was deleted


# --- a live local cloud: create orphans with boto3, then the CLI lists and deletes them ------------------
def _cli(*argv: str) -> tuple[int, dict[str, Any]]:
    import contextlib
    import io

    from hivemind.cli.main import build_parser

    parser = build_parser()
    if "orphans" not in parser._subparsers._group_actions[0].choices:  # noqa: SLF001 - not yet registered
        from hivemind.cli import orphans as orphans_cli

        sub = parser._subparsers._group_actions[0]  # noqa: SLF001
        orphans_cli.add_parser(sub, _common)
    args = parser.parse_args(list(argv))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = args.func(args)
    return code, json.loads(out.getvalue())


def _common(sp: Any, target: bool = True) -> None:
    """The same options cli.main's ``common`` adds (used only until main registers `orphans`)."""
    sp.add_argument("--json", action="store_true")
    g = sp.add_mutually_exclusive_group()
    g.add_argument("--local", action="store_true")
    g.add_argument("--aws", action="store_true")
    sp.add_argument("--stack-name", default=constants.CONTROL_PLANE_STACK)


def test_local_cloud_orphans_are_listed_then_deleted_to_zero(module_local_cloud: Any) -> None:
    ec2 = boto3.client("ec2", endpoint_url=module_local_cloud.endpoint_url, region_name=REGION)
    dep = "stray-000005"
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=_spec("vpc", dep))["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24", TagSpecifications=_spec("subnet", dep))
    sg = ec2.create_security_group(GroupName="stray", Description="stray", VpcId=vpc,
                                   TagSpecifications=_spec("security-group", dep))["GroupId"]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t4g.micro",
                                 SubnetId=subnet["Subnet"]["SubnetId"], SecurityGroupIds=[sg],
                                 TagSpecifications=_spec("instance", dep))["Instances"][0]["InstanceId"]
    assert os.environ.get("AWS_ENDPOINT_URL") == module_local_cloud.endpoint_url
    sandbox = module_local_cloud.state_dir / "instances" / instance
    assert sandbox.is_dir(), "the local cloud gives every instance a sandbox directory"

    code, listed = _cli("orphans", "--local", "--json")
    mine = {o["arn"].rsplit("/", 1)[-1]: o for o in listed["orphans"] if o["deployment_id"] == dep}
    assert code == 1 and set(mine) == {vpc, subnet["Subnet"]["SubnetId"], sg, instance}
    assert {o["reason"] for o in mine.values()} == {"unknown deployment"}
    assert mine[instance]["monthly_usd"] > 0 and listed["monthly_usd"] >= mine[instance]["monthly_usd"]

    code, done = _cli("orphans", "--local", "--delete", "--yes", "--json")
    assert done["failed"] == [] and done["remaining"] == 0 and code == 0, done
    assert {vpc, sg, instance} <= {arn.rsplit("/", 1)[-1] for arn in done["deleted"]}
    code, again = _cli("orphans", "--local", "--json")
    assert code == 0 and again["count"] == 0
    assert not sandbox.exists(), "the terminated instance's sandbox is still there"
