"""Provisioning: the role CloudFormation assumes to create the *application* stacks.

The provision task never holds EC2/ELB/RDS/IAM permissions itself: it passes this role to
CloudFormation (``RoleARN`` of the change set), and only CloudFormation can assume it. The stack
keeps the role, so the destroy task's DeleteStack uses it without passing it again. This is the CDK bootstrap's "CloudFormation execution role"
pattern, scoped down from AdministratorAccess to what an application stack
(hivemind.planning.template) contains: VPC and instances, ALB, Auto Scaling, RDS, its secret,
the release-pointer parameter, alarms and a dashboard, and an instance role named after the stack.
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from stacks import constants as c
from stacks.permissions import scoped_arn as _arn
from stacks.permissions import unscopable


def _statements() -> list[iam.PolicyStatement]:
    """What an application stack needs, each service scoped to this account and region."""
    app = f"{c.APP_STACK_PREFIX}*"  # CloudFormation names a stack's roles <stack-name>-<id>-<suffix>
    return [
        unscopable("ec2:Describe*", "autoscaling:Describe*", "elasticloadbalancing:Describe*",
                   "cloudwatch:DescribeAlarms", "rds:DescribeDBEngineVersions",
                   "rds:DescribeOrderableDBInstanceOptions", "secretsmanager:GetRandomPassword"),
        iam.PolicyStatement(sid="Network", actions=["ec2:*"], resources=[
            _arn("ec2", "*"),
            _arn("ec2", "image/*", account=False),  # public AL2023 AMIs
            _arn("ec2", "snapshot/*", account=False),  # the AMIs' root snapshots
        ]),
        iam.PolicyStatement(sid="LoadBalancing", actions=["elasticloadbalancing:*"],
                            resources=[_arn("elasticloadbalancing", "*")]),
        iam.PolicyStatement(sid="AutoScaling", actions=["autoscaling:*"],
                            resources=[_arn("autoscaling", "*")]),
        iam.PolicyStatement(sid="Database", actions=["rds:*"], resources=[_arn("rds", "*")]),
        iam.PolicyStatement(sid="DatabaseSecret", actions=["secretsmanager:*"],
                            resources=[_arn("secretsmanager", "secret:*")]),
        iam.PolicyStatement(sid="ReleasePointer", actions=[
            "ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParameter", "ssm:GetParameters",
            "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource",
        ], resources=[_arn("ssm", f"parameter/{c.RELEASE_PARAMETER_PREFIX}*")]),
        iam.PolicyStatement(sid="PublicAmiParameter", actions=["ssm:GetParameter", "ssm:GetParameters"],
                            resources=[_arn("ssm", "parameter/aws/service/*", account=False)]),
        iam.PolicyStatement(sid="Alarms", actions=[
            "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
            "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource",
        ], resources=[_arn("cloudwatch", "alarm:*")]),
        iam.PolicyStatement(sid="Dashboards", actions=[
            "cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards", "cloudwatch:GetDashboard",
        ], resources=[_arn("cloudwatch", "dashboard/*", region=False)]),
        iam.PolicyStatement(sid="InstanceRole", actions=[
            "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:TagRole",
            "iam:UntagRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
            "iam:CreateInstanceProfile", "iam:DeleteInstanceProfile", "iam:GetInstanceProfile",
            "iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile",
            "iam:TagInstanceProfile", "iam:UntagInstanceProfile",
        ], resources=[_arn("iam", f"role/{app}", region=False),
                      _arn("iam", f"instance-profile/{app}", region=False)]),
        # Only the SSM core managed policy may be attached: no escalation through managed policies.
        iam.PolicyStatement(sid="InstanceRoleManagedPolicy",
                            actions=["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                            resources=[_arn("iam", f"role/{app}", region=False)],
                            conditions={"ArnEquals": {"iam:PolicyARN": (
                                f"arn:{Aws.PARTITION}:iam::aws:policy/AmazonSSMManagedInstanceCore")}}),
        iam.PolicyStatement(sid="PassInstanceRole", actions=["iam:PassRole"],
                            resources=[_arn("iam", f"role/{app}", region=False)],
                            conditions={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
        iam.PolicyStatement(sid="ServiceLinkedRoles", actions=["iam:CreateServiceLinkedRole"],
                            resources=[_arn("iam", "role/aws-service-role/*", region=False)],
                            conditions={"StringEquals": {"iam:AWSServiceName": [
                                "autoscaling.amazonaws.com", "elasticloadbalancing.amazonaws.com",
                                "rds.amazonaws.com"]}}),
    ]


class Provisioning(Construct):
    """Creates ``self.cfn_role``: CloudFormation's execution role for ``hm-*`` application stacks."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.cfn_role = iam.Role(
            self,
            "CloudFormationExecutionRole",
            assumed_by=iam.ServicePrincipal("cloudformation.amazonaws.com"),
            description="Assumed by CloudFormation only, to create HiveMind application stacks (hm-*).",
            inline_policies={"ApplicationStack": iam.PolicyDocument(statements=_statements())},
        )
        NagSuppressions.add_resource_suppressions(self.cfn_role, [NagPackSuppression(
            id="AwsSolutions-IAM5",
            reason="CloudFormation execution role for generated application stacks: service-wide "
                   "actions for EC2/ELB/Auto Scaling/RDS/Secrets Manager, each limited to this "
                   "account and region (ARN wildcards), IAM limited to hm-* roles with only the SSM "
                   "core managed policy attachable; Describe* and GetRandomPassword cannot be scoped "
                   "(stacks.constants.UNSCOPABLE_ACTIONS). Only CloudFormation can assume the role and "
                   "only the provision task may pass it.",
        )])
