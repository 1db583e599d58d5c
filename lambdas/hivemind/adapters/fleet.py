"""Instances behind a deployment: Auto Scaling group members and target health."""

from __future__ import annotations

from typing import Any

from hivemind.adapters.aws import client


class Fleet:
    def __init__(self, region: str | None = None) -> None:
        self.region = region

    def in_service(self, asg_name: str) -> list[str]:
        groups = client("autoscaling", self.region).describe_auto_scaling_groups(
            AutoScalingGroupNames=[asg_name]
        )["AutoScalingGroups"]
        if not groups:
            return []
        return sorted(
            i["InstanceId"]
            for i in groups[0].get("Instances", [])
            if i.get("LifecycleState") == "InService"
        )

    def target_health(self, target_group_arn: str) -> list[dict[str, Any]]:
        resp = client("elbv2", self.region).describe_target_health(TargetGroupArn=target_group_arn)
        return [
            {
                "id": d["Target"]["Id"],
                "port": d["Target"].get("Port"),
                "state": d.get("TargetHealth", {}).get("State"),
                "reason": d.get("TargetHealth", {}).get("Reason"),
                "description": d.get("TargetHealth", {}).get("Description"),
            }
            for d in resp.get("TargetHealthDescriptions", [])
        ]

    def security_groups(self, group_ids: list[str]) -> list[dict[str, Any]]:
        return client("ec2", self.region).describe_security_groups(GroupIds=group_ids)["SecurityGroups"]

    def revoke_ingress(self, group_id: str, permissions: list[dict[str, Any]]) -> None:
        client("ec2", self.region).revoke_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
