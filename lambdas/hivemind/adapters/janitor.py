"""Describe and delete one AWS resource given only its ARN (what the orphan sweep finds by tag).

The Resource Groups Tagging API gives ARNs of every kind; deleting them needs one call per
service, plus the small preparations AWS requires (detach an internet gateway, revoke security
group rules, empty a bucket). ``delete`` returns False when the resource was already gone, so a
second run over the same list is harmless. The order of deletion is the caller's business
(``hivemind.logic.orphans``); waits here are bounded botocore waiters for resources whose
deletion is asynchronous on AWS and blocks the next step (instances, load balancers, NAT
gateways, databases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from hivemind.adapters.aws import client, error_code

# Error codes meaning "this resource does not exist (any more)".
NOT_FOUND_CODES = frozenset({
    "ResourceNotFoundException", "ResourceNotFound", "NotFoundException", "ParameterNotFound",
    "LoadBalancerNotFound", "TargetGroupNotFound", "ListenerNotFound", "RuleNotFound",
    "DBInstanceNotFound", "DBInstanceNotFoundFault", "DBClusterNotFoundFault", "DBSubnetGroupNotFoundFault",
    "DBParameterGroupNotFound", "NatGatewayNotFound", "NoSuchBucket", "NoSuchEntity",
    "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist",
})


def _secondary(call: Any, **kwargs: Any) -> None:
    """A preparation step (revoke, detach, disassociate): "not found" here is about the OTHER
    resource (a referenced group, a VPC) and must not be read as "the resource is already gone"."""
    try:
        call(**kwargs)
    except ClientError as exc:
        if not is_gone(exc):
            raise


class UnsupportedResource(Exception):
    """HiveMind does not know how to delete this kind of resource."""


@dataclass(frozen=True)
class ArnParts:
    service: str
    region: str
    account: str
    kind: str  # "instance", "security-group", "loadbalancer", "db", "secret", "bucket", ...
    name: str  # what follows the kind: an id, a name or a path


def parse_arn(arn: str) -> ArnParts:
    """Split ``arn:partition:service:region:account:resource`` (resource ``kind/name`` or ``kind:name``)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    _, _, service, region, account, resource = parts
    if service == "s3":
        return ArnParts(service, region, account, "object" if "/" in resource else "bucket", resource)
    if service == "sns" or service == "sqs":
        return ArnParts(service, region, account, "topic" if service == "sns" else "queue", resource)
    slash, colon = resource.find("/"), resource.find(":")
    cuts = [i for i in (slash, colon) if i >= 0]
    if not cuts:
        return ArnParts(service, region, account, resource, "")
    cut = min(cuts)
    return ArnParts(service, region, account, resource[:cut], resource[cut + 1:])


def is_gone(exc: ClientError) -> bool:
    """True when the error says the resource does not exist (already deleted counts as deleted)."""
    code = error_code(exc)
    if code in NOT_FOUND_CODES or code.startswith("NoSuch"):
        return True
    if code.endswith(("NotFound", ".NotFound", "NotFoundException", "NotFoundFault")):
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return code == "ValidationError" and "not found" in message


class ResourceJanitor:
    """``describe(arn)`` (facts the price table needs) and ``delete(arn)`` for HiveMind's resource kinds."""

    def __init__(self, region: str | None = None, *, wait_delay_s: int = 5, wait_attempts: int = 120) -> None:
        self.region = region
        self.waiter_config = {"Delay": wait_delay_s, "MaxAttempts": wait_attempts}

    def _client(self, service: str, parts: ArnParts) -> Any:
        return client(service, parts.region or self.region)

    # -- describe ------------------------------------------------------------------------------------
    def describe(self, arn: str) -> dict[str, Any]:
        """Facts for pricing: instance type, sizes, engine... ``{}`` for kinds priced without facts or gone."""
        p = parse_arn(arn)
        try:
            if p.service == "ec2" and p.kind == "instance":
                return self._describe_instance(p)
            if p.service == "ec2" and p.kind == "volume":
                vol = self._client("ec2", p).describe_volumes(VolumeIds=[p.name])["Volumes"][0]
                return {"size_gb": vol["Size"], "volume_type": vol.get("VolumeType", ""), "state": vol["State"]}
            if p.service == "elasticloadbalancing" and p.kind == "loadbalancer":
                lb = self._client("elbv2", p).describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
                return {"type": lb.get("Type", "application"), "scheme": lb.get("Scheme", "internet-facing"),
                        "azs": len(lb.get("AvailabilityZones", []))}
            if p.service == "rds" and p.kind == "db":
                db = self._client("rds", p).describe_db_instances(DBInstanceIdentifier=p.name)["DBInstances"][0]
                return {"engine": db["Engine"], "instance_class": db["DBInstanceClass"],
                        "multi_az": bool(db.get("MultiAZ")), "storage_gb": int(db.get("AllocatedStorage", 0))}
        except ClientError as exc:
            if is_gone(exc):
                return {"gone": True}
            raise
        except IndexError:
            return {"gone": True}
        return {}

    def _describe_instance(self, p: ArnParts) -> dict[str, Any]:
        ec2 = self._client("ec2", p)
        inst = ec2.describe_instances(InstanceIds=[p.name])["Reservations"][0]["Instances"][0]
        volume_ids = [m["Ebs"]["VolumeId"] for m in inst.get("BlockDeviceMappings", []) if "Ebs" in m]
        size = 0
        if volume_ids:
            size = sum(v["Size"] for v in ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"])
        return {"instance_type": inst["InstanceType"], "state": inst["State"]["Name"], "volume_gb": size,
                "public_ip": bool(inst.get("PublicIpAddress"))}

    # -- delete --------------------------------------------------------------------------------------
    def delete(self, arn: str) -> bool:
        """Delete the resource; True if it was deleted now, False if it was already gone.

        Raises ``ClientError`` (the AWS error) or ``UnsupportedResource``.
        """
        p = parse_arn(arn)
        method = getattr(self, f"_delete_{p.service}_{p.kind}".replace("-", "_").lower(), None)
        if method is None:
            raise UnsupportedResource(
                f"no delete for {p.service} {p.kind} ({arn}); delete it in the console or with the AWS CLI"
            )
        try:
            method(p, arn)
        except ClientError as exc:
            if is_gone(exc):
                return False
            raise
        return True

    def _wait(self, service: str, p: ArnParts, waiter: str, **kwargs: Any) -> None:
        try:
            self._client(service, p).get_waiter(waiter).wait(WaiterConfig=self.waiter_config, **kwargs)
        except WaiterError as exc:
            raise ClientError({"Error": {"Code": "WaitTimedOut",
                                         "Message": f"{waiter} did not settle: {exc}"}}, waiter) from None

    # autoscaling
    def _delete_autoscaling_autoscalinggroup(self, p: ArnParts, arn: str) -> None:
        name = p.name.split("autoScalingGroupName/", 1)[-1]
        self._client("autoscaling", p).delete_auto_scaling_group(AutoScalingGroupName=name, ForceDelete=True)

    # ec2
    def _delete_ec2_instance(self, p: ArnParts, arn: str) -> None:
        ec2 = self._client("ec2", p)
        state = ec2.describe_instances(InstanceIds=[p.name])["Reservations"][0]["Instances"][0]["State"]["Name"]
        if state == "terminated":
            raise ClientError({"Error": {"Code": "InvalidInstanceID.NotFound", "Message": "terminated"}}, "Terminate")
        ec2.terminate_instances(InstanceIds=[p.name])
        self._wait("ec2", p, "instance_terminated", InstanceIds=[p.name])

    def _delete_ec2_natgateway(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_nat_gateway(NatGatewayId=p.name)
        self._wait("ec2", p, "nat_gateway_deleted", NatGatewayIds=[p.name])

    def _delete_ec2_elastic_ip(self, p: ArnParts, arn: str) -> None:
        ec2 = self._client("ec2", p)
        addresses = ec2.describe_addresses(AllocationIds=[p.name])["Addresses"]
        for address in addresses:
            if address.get("AssociationId"):
                _secondary(ec2.disassociate_address, AssociationId=address["AssociationId"])
        ec2.release_address(AllocationId=p.name)

    def _delete_ec2_launch_template(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_launch_template(LaunchTemplateId=p.name)

    def _delete_ec2_network_interface(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_network_interface(NetworkInterfaceId=p.name)

    def _delete_ec2_volume(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_volume(VolumeId=p.name)

    def _delete_ec2_security_group(self, p: ArnParts, arn: str) -> None:
        """Revoke the group's own rules first: a rule naming another group blocks that group's delete."""
        ec2 = self._client("ec2", p)
        group = ec2.describe_security_groups(GroupIds=[p.name])["SecurityGroups"][0]
        if group.get("IpPermissions"):
            _secondary(ec2.revoke_security_group_ingress, GroupId=p.name, IpPermissions=group["IpPermissions"])
        if group.get("IpPermissionsEgress"):
            _secondary(ec2.revoke_security_group_egress, GroupId=p.name, IpPermissions=group["IpPermissionsEgress"])
        ec2.delete_security_group(GroupId=p.name)

    def _delete_ec2_subnet(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_subnet(SubnetId=p.name)

    def _delete_ec2_route_table(self, p: ArnParts, arn: str) -> None:
        ec2 = self._client("ec2", p)
        table = ec2.describe_route_tables(RouteTableIds=[p.name])["RouteTables"][0]
        for assoc in table.get("Associations", []):
            if not assoc.get("Main") and assoc.get("RouteTableAssociationId"):
                _secondary(ec2.disassociate_route_table, AssociationId=assoc["RouteTableAssociationId"])
        ec2.delete_route_table(RouteTableId=p.name)

    def _delete_ec2_internet_gateway(self, p: ArnParts, arn: str) -> None:
        ec2 = self._client("ec2", p)
        gateway = ec2.describe_internet_gateways(InternetGatewayIds=[p.name])["InternetGateways"][0]
        for attachment in gateway.get("Attachments", []):
            _secondary(ec2.detach_internet_gateway, InternetGatewayId=p.name, VpcId=attachment["VpcId"])
        ec2.delete_internet_gateway(InternetGatewayId=p.name)

    def _delete_ec2_vpc(self, p: ArnParts, arn: str) -> None:
        self._client("ec2", p).delete_vpc(VpcId=p.name)

    # elastic load balancing v2
    def _delete_elasticloadbalancing_listener(self, p: ArnParts, arn: str) -> None:
        self._client("elbv2", p).delete_listener(ListenerArn=arn)

    def _delete_elasticloadbalancing_listener_rule(self, p: ArnParts, arn: str) -> None:
        self._client("elbv2", p).delete_rule(RuleArn=arn)

    def _delete_elasticloadbalancing_targetgroup(self, p: ArnParts, arn: str) -> None:
        self._client("elbv2", p).delete_target_group(TargetGroupArn=arn)

    def _delete_elasticloadbalancing_loadbalancer(self, p: ArnParts, arn: str) -> None:
        elb = self._client("elbv2", p)
        elb.describe_load_balancers(LoadBalancerArns=[arn])  # LoadBalancerNotFound when already gone
        elb.delete_load_balancer(LoadBalancerArn=arn)
        self._wait("elbv2", p, "load_balancers_deleted", LoadBalancerArns=[arn])

    # rds
    def _delete_rds_db(self, p: ArnParts, arn: str) -> None:
        """A final snapshot is kept: an orphaned database may still hold the user's only copy of data."""
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self._client("rds", p).delete_db_instance(
            DBInstanceIdentifier=p.name, SkipFinalSnapshot=False,
            FinalDBSnapshotIdentifier=f"{p.name}-orphan-{stamp}"[:255], DeleteAutomatedBackups=False,
        )
        self._wait("rds", p, "db_instance_deleted", DBInstanceIdentifier=p.name)

    def _delete_rds_cluster(self, p: ArnParts, arn: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        self._client("rds", p).delete_db_cluster(DBClusterIdentifier=p.name, SkipFinalSnapshot=False,
                                                 FinalDBSnapshotIdentifier=f"{p.name}-orphan-{stamp}"[:255])

    def _delete_rds_subgrp(self, p: ArnParts, arn: str) -> None:
        self._client("rds", p).delete_db_subnet_group(DBSubnetGroupName=p.name)

    def _delete_rds_pg(self, p: ArnParts, arn: str) -> None:
        self._client("rds", p).delete_db_parameter_group(DBParameterGroupName=p.name)

    # the rest: independent of each other
    def _delete_secretsmanager_secret(self, p: ArnParts, arn: str) -> None:
        sm = self._client("secretsmanager", p)
        if sm.describe_secret(SecretId=arn).get("DeletedDate"):
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "scheduled for deletion"}},
                              "DeleteSecret")
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

    def _delete_cloudwatch_alarm(self, p: ArnParts, arn: str) -> None:
        cw = self._client("cloudwatch", p)
        if not cw.describe_alarms(AlarmNames=[p.name]).get("MetricAlarms") and not \
                cw.describe_alarms(AlarmNames=[p.name], AlarmTypes=["CompositeAlarm"]).get("CompositeAlarms"):
            raise ClientError({"Error": {"Code": "ResourceNotFound", "Message": "no such alarm"}}, "DeleteAlarms")
        cw.delete_alarms(AlarmNames=[p.name])

    def _delete_cloudwatch_dashboard(self, p: ArnParts, arn: str) -> None:
        self._client("cloudwatch", p).delete_dashboards(DashboardNames=[p.name])

    def _delete_logs_log_group(self, p: ArnParts, arn: str) -> None:
        name = p.name[:-2] if p.name.endswith(":*") else p.name
        self._client("logs", p).delete_log_group(logGroupName=name)

    def _delete_ssm_parameter(self, p: ArnParts, arn: str) -> None:
        """``parameter/a/b`` is the name ``/a/b``; ``parameter/a`` may be ``a`` or ``/a``: try both."""
        ssm = self._client("ssm", p)
        candidates = [f"/{p.name}"] if "/" in p.name else [p.name, f"/{p.name}"]
        for i, name in enumerate(candidates):
            try:
                ssm.delete_parameter(Name=name)
                return
            except ClientError as exc:
                if error_code(exc) != "ParameterNotFound" or i == len(candidates) - 1:
                    raise

    def _delete_s3_bucket(self, p: ArnParts, arn: str) -> None:
        s3 = self._client("s3", p)
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=p.name):
            keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                    for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if keys:
                s3.delete_objects(Bucket=p.name, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=p.name)

    def _delete_sns_topic(self, p: ArnParts, arn: str) -> None:
        self._client("sns", p).delete_topic(TopicArn=arn)

    def _delete_sqs_queue(self, p: ArnParts, arn: str) -> None:
        sqs = self._client("sqs", p)
        url = sqs.get_queue_url(QueueName=p.name, QueueOwnerAWSAccountId=p.account)["QueueUrl"]
        sqs.delete_queue(QueueUrl=url)
