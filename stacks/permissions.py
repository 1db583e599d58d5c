"""The permission table: what each Lambda task may do, in one place.

Each task gets its own role. A role is built from *capabilities* (a named, reviewed set of IAM
statements); the table below says which capabilities a task has. Adding a permission to a task
means adding a capability here, where a reviewer sees the whole picture at once.

Every statement is scoped to this account and region and, where AWS allows, to HiveMind's own
resources (table, bus, bucket prefixes, `hm-*` application stacks, documents, tagged instances).
Actions that AWS does not let a policy scope are listed in ``stacks.constants.UNSCOPABLE_ACTIONS``
and are the only ones granted on ``"*"``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from stacks import constants as c


class Cap(StrEnum):
    """A capability: a reviewed group of IAM statements."""

    TABLE_RW = "table-rw"  # deployment items, logs and errors
    IDEMPOTENCY = "idempotency"  # Powertools idempotency records (@idempotent_function)
    PUT_EVENTS = "put-events"  # stage-change events on the hivemind bus
    RELEASES_WRITE = "releases-write"  # pack a release to s3://bucket/releases/
    RELEASES_DELETE = "releases-delete"  # remove a destroyed deployment's releases
    REPORTS_WRITE = "reports-write"  # plans, templates and reports under reports/
    STACK_READ = "stack-read"  # describe hm-* application stacks and their events
    STACK_PROVISION = "stack-provision"  # change sets on hm-* stacks, passing the CFN role
    STACK_REMOVE = "stack-remove"  # delete hm-* stacks (CloudFormation reuses the stack's role)
    STACK_RECOVER = "stack-recover"  # unstick hm-* stacks: continue a failed rollback, delete a dead create
    DB_DELETE = "db-delete"  # destroy --skip-snapshot deletes HiveMind's DB instances directly
    INSTANCES_READ = "instances-read"  # find the in-service, SSM-online instances of a deployment
    RUN_INSTALL = "run-install"  # Run Command: install-release document on tagged instances
    RUN_HARDEN = "run-harden"  # Run Command: harden document on tagged instances
    COMMAND_READ = "command-read"  # poll Run Command invocations
    RELEASE_POINTER = "release-pointer"  # /hivemind/<id>/current-release (scale-out gets it)
    SECURITY_GROUPS = "security-groups"  # revoke stray ingress on hivemind-tagged groups
    TARGETS_READ = "targets-read"  # ALB target health for verification
    CLEANUP_SCHEDULE = "cleanup-schedule"  # one-time Scheduler schedule for a failed deployment
    TAGGED_SEARCH = "tagged-search"  # tag:GetResources (orphan sweep, proof of destruction)
    START_DESTROY = "start-destroy"  # auto-rollback destroys the failed deployment
    START_DEPLOY = "start-deploy"  # auto-rollback redeploys the last good release
    START_RETRY = "start-retry"  # deploy --auto-fix: a retry that applies the diagnosis' safe fix
    ORPHANS_READ = "orphans-read"  # price what the tagging API lists (instance types, volume sizes)
    JANITOR = "janitor"  # delete HiveMind-tagged resources that outlived their stack, in dependency order
    LLM_READ = "llm-read"  # optional Bedrock reading of a failure (setting llm_diagnosis, off by default)
    WORKFLOW_START = "workflow-start"  # API: start and read deploy / destroy / retry executions


_COMMON = (Cap.TABLE_RW, Cap.PUT_EVENTS)

# THE TABLE. Every task reads and writes its deployment item and log items (TABLE_RW) and emits a
# stage event (PUT_EVENTS). The rest is what the task's logic calls today (hivemind.logic / adapters);
# when a task starts calling something new, its row changes here and nowhere else.
TASK_CAPABILITIES: dict[str, tuple[Cap, ...]] = {
    "validate": _COMMON,
    "analyze": (*_COMMON, Cap.RELEASES_WRITE),
    "plan": (*_COMMON, Cap.REPORTS_WRITE),
    "provision": (*_COMMON, Cap.STACK_READ, Cap.STACK_PROVISION, Cap.STACK_RECOVER),
    "check-stack": (*_COMMON, Cap.STACK_READ, Cap.STACK_RECOVER),
    "deploy": (*_COMMON, Cap.IDEMPOTENCY, Cap.INSTANCES_READ, Cap.RUN_INSTALL, Cap.COMMAND_READ,
               Cap.RELEASE_POINTER),
    "check-command": (*_COMMON, Cap.COMMAND_READ),
    "harden": (*_COMMON, Cap.IDEMPOTENCY, Cap.INSTANCES_READ, Cap.RUN_HARDEN, Cap.SECURITY_GROUPS),
    "verify": (*_COMMON, Cap.TARGETS_READ),
    "record-failure": (*_COMMON, Cap.CLEANUP_SCHEDULE),
    "diagnose": (*_COMMON, Cap.START_RETRY, Cap.LLM_READ),
    "rollback": (*_COMMON, Cap.START_DESTROY, Cap.START_DEPLOY),
    "destroy": (*_COMMON, Cap.STACK_READ, Cap.STACK_REMOVE, Cap.TAGGED_SEARCH, Cap.RELEASES_DELETE, Cap.DB_DELETE,
                Cap.ORPHANS_READ, Cap.JANITOR),
    # Lists and prices only: deleting on a schedule (setting sweep_delete) needs Cap.JANITOR added here.
    "sweep": (*_COMMON, Cap.TAGGED_SEARCH, Cap.ORPHANS_READ),
    "report": (*_COMMON, Cap.REPORTS_WRITE),
    c.API_FUNCTION: (Cap.TABLE_RW, Cap.WORKFLOW_START),
}


@dataclass(frozen=True)
class Targets:
    """The ARNs the statements point at (tokens at synth time)."""

    table_arn: str
    idempotency_table_arn: str
    bus_arn: str
    bucket_arn: str
    cfn_role_arn: str
    cleanup_role_arn: str


def scoped_arn(service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
    """arn:<partition>:<service>:<region>:<account>:<resource> for this stack's environment."""
    return (f"arn:{Aws.PARTITION}:{service}:{Aws.REGION if region else ''}:"
            f"{Aws.ACCOUNT_ID if account else ''}:{resource}")


def state_machine_arn(workflow: str) -> str:
    """ARN of a HiveMind state machine, built from its fixed name (no reference, so no cycle)."""
    return scoped_arn("states", f"stateMachine:{c.state_machine_name(workflow)}")


def executions_arn(workflow: str) -> str:
    return scoped_arn("states", f"execution:{c.state_machine_name(workflow)}:*")


def app_stacks_arn() -> str:
    return scoped_arn("cloudformation", f"stack/{c.APP_STACK_PREFIX}*/*")


def _stmt(actions: Sequence[str], resources: Sequence[str], **conditions: dict) -> iam.PolicyStatement:
    return iam.PolicyStatement(actions=list(actions), resources=list(resources),
                               conditions=conditions or None)


def unscopable(*actions: str) -> iam.PolicyStatement:
    """A statement on Resource "*": only for actions AWS cannot scope (checked here and in tests)."""
    unknown = [a for a in actions if a not in c.UNSCOPABLE_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} are not in stacks.constants.UNSCOPABLE_ACTIONS; scope them to a "
                         "resource or, if AWS really cannot scope them, add them there with the reason.")
    return _stmt(actions, ["*"])


_JANITOR_DELETES = (
    "autoscaling:DeleteAutoScalingGroup", "ec2:TerminateInstances", "ec2:DeleteNatGateway", "ec2:ReleaseAddress",
    "ec2:DeleteLaunchTemplate", "ec2:DeleteNetworkInterface", "ec2:DeleteVolume", "ec2:DeleteSecurityGroup",
    "ec2:DeleteSubnet", "ec2:DeleteRouteTable", "ec2:DisassociateRouteTable", "ec2:DetachInternetGateway",
    "ec2:DeleteInternetGateway", "ec2:DeleteVpc", "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:DeleteTargetGroup", "elasticloadbalancing:DeleteListener", "rds:DeleteDBInstance",
    "rds:DeleteDBSubnetGroup", "rds:DeleteDBParameterGroup", "rds:CreateDBSnapshot", "rds:AddTagsToResource",
    "secretsmanager:DeleteSecret", "cloudwatch:DeleteAlarms", "cloudwatch:DeleteDashboards",
    "logs:DeleteLogGroup", "ssm:DeleteParameter",
)

_JANITOR_SERVICES = sorted({a.split(":", 1)[0] for a in _JANITOR_DELETES})

_STACK_READ_ACTIONS = (
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
)


def _pass_cfn_role(t: Targets) -> iam.PolicyStatement:
    return _stmt(["iam:PassRole"], [t.cfn_role_arn],
                 StringEquals={"iam:PassedToService": "cloudformation.amazonaws.com"})


def _run_command(document: str) -> list[iam.PolicyStatement]:
    """SendCommand with one document, only on instances tagged as managed by HiveMind."""
    return [
        _stmt(["ssm:SendCommand"], [scoped_arn("ssm", f"document/{document}")]),
        _stmt(["ssm:SendCommand"], [scoped_arn("ec2", "instance/*")],
              StringEquals={f"ssm:resourceTag/{c.TAG_MANAGED_BY}": c.MANAGED_BY_VALUE}),
    ]


def _objects(t: Targets, prefix: str, actions: Sequence[str]) -> list[iam.PolicyStatement]:
    return [
        _stmt(actions, [f"{t.bucket_arn}/{prefix}*"]),
        _stmt(["s3:ListBucket"], [t.bucket_arn], StringLike={"s3:prefix": [f"{prefix}*"]}),
    ]


_BUILDERS: dict[Cap, Callable[[Targets], list[iam.PolicyStatement]]] = {
    Cap.TABLE_RW: lambda t: [_stmt(
        ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem",
         "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
         "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"],
        [t.table_arn, f"{t.table_arn}/index/{c.STATUS_INDEX}"])],
    Cap.IDEMPOTENCY: lambda t: [_stmt(
        ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        [t.idempotency_table_arn])],
    Cap.PUT_EVENTS: lambda t: [_stmt(["events:PutEvents"], [t.bus_arn])],
    Cap.RELEASES_WRITE: lambda t: _objects(t, c.RELEASES_PREFIX,
                                           ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]),
    Cap.RELEASES_DELETE: lambda t: _objects(t, c.RELEASES_PREFIX, ["s3:DeleteObject"]),
    Cap.REPORTS_WRITE: lambda t: _objects(t, c.REPORTS_PREFIX, ["s3:PutObject", "s3:GetObject"]),
    Cap.STACK_READ: lambda t: [_stmt(_STACK_READ_ACTIONS, [app_stacks_arn()])],
    Cap.STACK_PROVISION: lambda t: [
        _stmt(["cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
               "cloudformation:ExecuteChangeSet", "cloudformation:DeleteChangeSet",
               "cloudformation:TagResource"], [app_stacks_arn()]),
        _pass_cfn_role(t)],
    Cap.STACK_REMOVE: lambda t: [_stmt(["cloudformation:DeleteStack"], [app_stacks_arn()])],
    Cap.STACK_RECOVER: lambda t: [_stmt(["cloudformation:ContinueUpdateRollback", "cloudformation:DeleteStack"],
                                        [app_stacks_arn()])],
    Cap.DB_DELETE: lambda t: [_stmt(["rds:DeleteDBInstance"], [scoped_arn("rds", "db:*")],
                                    StringEquals={f"aws:ResourceTag/{c.TAG_MANAGED_BY}": c.MANAGED_BY_VALUE})],
    Cap.INSTANCES_READ: lambda t: [unscopable("autoscaling:DescribeAutoScalingGroups",
                                              "ssm:DescribeInstanceInformation")],
    Cap.RUN_INSTALL: lambda t: _run_command(c.INSTALL_DOCUMENT),
    Cap.RUN_HARDEN: lambda t: _run_command(c.HARDEN_DOCUMENT),
    Cap.COMMAND_READ: lambda t: [unscopable("ssm:GetCommandInvocation")],
    Cap.RELEASE_POINTER: lambda t: [_stmt(
        ["ssm:GetParameter", "ssm:PutParameter"], [scoped_arn("ssm", f"parameter/{c.RELEASE_PARAMETER_PREFIX}*")])],
    Cap.SECURITY_GROUPS: lambda t: [
        unscopable("ec2:DescribeSecurityGroups"),
        _stmt(["ec2:RevokeSecurityGroupIngress"], [scoped_arn("ec2", "security-group/*")],
              StringEquals={f"aws:ResourceTag/{c.TAG_MANAGED_BY}": c.MANAGED_BY_VALUE})],
    Cap.TARGETS_READ: lambda t: [unscopable("elasticloadbalancing:DescribeTargetHealth")],
    Cap.CLEANUP_SCHEDULE: lambda t: [
        _stmt(["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:GetSchedule",
               "scheduler:DeleteSchedule"],
              [scoped_arn("scheduler", f"schedule/{c.CLEANUP_SCHEDULE_GROUP}/*")]),
        _stmt(["iam:PassRole"], [t.cleanup_role_arn],
              StringEquals={"iam:PassedToService": "scheduler.amazonaws.com"})],
    Cap.TAGGED_SEARCH: lambda t: [unscopable("tag:GetResources")],
    Cap.START_DESTROY: lambda t: [_stmt(["states:StartExecution"], [state_machine_arn("destroy")])],
    Cap.START_DEPLOY: lambda t: [_stmt(["states:StartExecution"], [state_machine_arn("deploy")])],
    Cap.START_RETRY: lambda t: [_stmt(["states:StartExecution"], [state_machine_arn("retry")])],
    Cap.ORPHANS_READ: lambda t: [unscopable("ec2:DescribeInstances", "ec2:DescribeVolumes",
                                            "elasticloadbalancing:DescribeLoadBalancers", "rds:DescribeDBInstances")],
    Cap.JANITOR: lambda t: [
        unscopable("ec2:DescribeInstances", "ec2:DescribeVolumes", "ec2:DescribeAddresses", "ec2:DescribeRouteTables",
                   "ec2:DescribeInternetGateways", "ec2:DescribeSecurityGroups",
                   "elasticloadbalancing:DescribeLoadBalancers", "rds:DescribeDBInstances",
                   "cloudwatch:DescribeAlarms"),
        # Only what carries HiveMind's tag: the janitor never touches anything else.
        _stmt(_JANITOR_DELETES, [scoped_arn(svc, "*") for svc in _JANITOR_SERVICES],
              StringEquals={f"aws:ResourceTag/{c.TAG_MANAGED_BY}": c.MANAGED_BY_VALUE})],
    Cap.LLM_READ: lambda t: [_stmt(["bedrock:InvokeModel"],
                                   [scoped_arn("bedrock", f"foundation-model/{c.LLM_MODEL_ID}", account=False)])],
    Cap.WORKFLOW_START: lambda t: [
        _stmt(["states:StartExecution", "states:ListExecutions"],
              [state_machine_arn(w) for w in ("deploy", "destroy", "retry")]),
        _stmt(["states:DescribeExecution", "states:GetExecutionHistory"],
              [executions_arn(w) for w in ("deploy", "destroy", "retry")])],
}


def statements_for(task: str, targets: Targets) -> list[iam.PolicyStatement]:
    """Every statement of one task's role, from the table."""
    if task not in TASK_CAPABILITIES:
        raise KeyError(f"task {task!r} has no row in stacks.permissions.TASK_CAPABILITIES; add one.")
    return [s for cap in TASK_CAPABILITIES[task] for s in _BUILDERS[cap](targets)]
