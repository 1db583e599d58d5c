"""Names and settings only the CDK app needs.

Names shared with the handlers, the CLI and the local cloud live in ``hivemind.constants`` and are
re-exported here, so a construct imports from one place. Everything below is CDK-side only: paths
of the assets, sizing of the functions, the list of IAM actions AWS does not let us scope.
"""

from __future__ import annotations

from pathlib import Path

from hivemind.constants import (
    API_FUNCTION,
    CONTROL_PLANE_STACK,
    EV_DESTROYED,
    EV_FAILED,
    EV_ORPHANS,
    EV_STAGE_CHANGED,
    EV_SUCCEEDED,
    EVENT_BUS_NAME,
    EVENT_SOURCE,
    HARDEN_DOCUMENT,
    IDEMPOTENCY_TABLE_NAME,
    INSTALL_DOCUMENT,
    LLM_MODEL_ID,
    LOG_TTL_DAYS,
    OUT_API_URL,
    OUT_BUCKET,
    OUT_BUS,
    OUT_TABLE,
    RELEASES_PREFIX,
    REPORTS_PREFIX,
    SERVICE,
    STATUS_INDEX,
    TABLE_NAME,
    TAG_MANAGED_BY,
    TASKS,
    WORKFLOW_EXTRA_PLACEHOLDERS,
    WORKFLOW_TASKS,
    WORKFLOWS,
    artifacts_bucket_name,
    function_name,
    handler_path,
    out_state_machine,
    placeholder,
    state_machine_name,
)

__all__ = [
    "API_FUNCTION",
    "CONTROL_PLANE_STACK",
    "EVENT_BUS_NAME",
    "EVENT_SOURCE",
    "EV_DESTROYED",
    "EV_FAILED",
    "EV_ORPHANS",
    "EV_STAGE_CHANGED",
    "EV_SUCCEEDED",
    "HARDEN_DOCUMENT",
    "IDEMPOTENCY_TABLE_NAME",
    "INSTALL_DOCUMENT",
    "LLM_MODEL_ID",
    "LOG_TTL_DAYS",
    "OUT_API_URL",
    "OUT_BUCKET",
    "OUT_BUS",
    "OUT_TABLE",
    "RELEASES_PREFIX",
    "REPORTS_PREFIX",
    "SERVICE",
    "STATUS_INDEX",
    "TABLE_NAME",
    "TAG_MANAGED_BY",
    "TASKS",
    "WORKFLOWS",
    "WORKFLOW_EXTRA_PLACEHOLDERS",
    "WORKFLOW_TASKS",
    "artifacts_bucket_name",
    "function_name",
    "handler_path",
    "out_state_machine",
    "placeholder",
    "state_machine_name",
]

# --- paths (absolute, so synth works from any working directory, e.g. the test fixture) ----------
ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = ROOT / "lambdas"
STATEMACHINE_DIR = ROOT / "statemachine"
LAYER_DIR = ROOT / "build" / "layer"  # written by `python -m stacks.build_layer`
ANALYZE_DOCKERFILE = "Dockerfile.analyze"  # under LAMBDAS_DIR

# What the zip asset of the task functions leaves out: the CLI and the local cloud never run in
# Lambda, and the container build file belongs to the analyze image only.
CODE_EXCLUDES: tuple[str, ...] = (
    "hivemind/cli",
    "hivemind/local",
    "tests",
    "**/__pycache__",
    "*.pyc",
    "*.egg-info",
    "Dockerfile*",
)
# The analyze image is built from the same directory; its Dockerfile must stay in the context.
IMAGE_EXCLUDES: tuple[str, ...] = tuple(p for p in CODE_EXCLUDES if not p.startswith("Dockerfile"))

# --- Lambda -------------------------------------------------------------------------------------
LAMBDA_PYTHON = "python3.12"
CONTAINER_TASKS: frozenset[str] = frozenset({"analyze"})  # needs the `git` binary
POWERTOOLS_NAMESPACE = "HiveMind"
LOG_LEVEL = "INFO"
LOG_RETENTION_DAYS = 30

# Powertools publishes its layer ARN per region in public SSM parameters; the version is the one
# the project is tested with (pyproject pins the major), overridable with
# `cdk synth -c hivemind:powertoolsVersion=latest`.
POWERTOOLS_VERSION = "3.37.0"
POWERTOOLS_VERSION_CONTEXT = "hivemind:powertoolsVersion"


def powertools_layer_parameter(version: str) -> str:
    """Public SSM parameter whose value is the Powertools v3 layer ARN for python3.12 on arm64."""
    return f"/aws/service/powertools/python/arm64/python3.12/{version}"


# Environment variable names read by hivemind's settings model.
ENV_TABLE = "HIVEMIND_TABLE_NAME"
ENV_IDEMPOTENCY_TABLE = "HIVEMIND_IDEMPOTENCY_TABLE_NAME"
ENV_BUS = "HIVEMIND_EVENT_BUS_NAME"
ENV_BUCKET = "HIVEMIND_ARTIFACTS_BUCKET"
ENV_CFN_ROLE = "HIVEMIND_CFN_EXECUTION_ROLE_ARN"
ENV_CLEANUP_GROUP = "HIVEMIND_CLEANUP_SCHEDULE_GROUP"
ENV_CLEANUP_ROLE = "HIVEMIND_CLEANUP_ROLE_ARN"


def env_state_machine(workflow: str) -> str:
    """HIVEMIND_<WORKFLOW>_STATE_MACHINE_ARN."""
    return f"HIVEMIND_{workflow.upper()}_STATE_MACHINE_ARN"


# --- application stacks HiveMind creates at run time -----------------------------------------------
APP_STACK_PREFIX = "hm-"  # stack name `hm-<deployment-id>` (hivemind.planning.plan)
RELEASE_PARAMETER_PREFIX = "hivemind/"  # SSM parameter /hivemind/<deployment-id>/current-release
CLEANUP_SCHEDULE_GROUP = "hivemind-cleanup"
# A release object tagged superseded (by the deploy/rollback task once another release is live)
# expires after RELEASE_EXPIRY_DAYS; the live release never does, so scale-out can always fetch it.
RELEASE_STATE_TAG = "hivemind:release-state"
RELEASE_SUPERSEDED = "superseded"
RELEASE_EXPIRY_DAYS = 30
NONCURRENT_EXPIRY_DAYS = 30
ACCESS_LOG_EXPIRY_DAYS = 90
MANAGED_BY_VALUE = SERVICE

# --- API ----------------------------------------------------------------------------------------
API_NAME = "hivemind"
API_STAGE = "v1"

# --- IAM: actions AWS does not let a policy scope to a resource ------------------------------------
# Each of these is granted on Resource "*" and nothing else is. The tests enforce it and cdk-nag
# suppressions point here. Source: the Service Authorization Reference ("Resource types" column
# empty for these actions).
UNSCOPABLE_ACTIONS: dict[str, str] = {
    # task functions
    "ec2:DescribeSecurityGroups": "EC2 Describe* calls support no resource-level permissions",
    "autoscaling:DescribeAutoScalingGroups": "Auto Scaling Describe* calls are not resource-scoped",
    "elasticloadbalancing:DescribeTargetHealth": "ELB Describe* calls are not resource-scoped",
    "ssm:GetCommandInvocation": "Run Command invocation reads support no resource-level permissions",
    "ssm:DescribeInstanceInformation": "managed-instance listing supports no resource-level permissions",
    "tag:GetResources": "the tagging API searches the whole account by design (orphan sweep, destroy proof)",
    # X-Ray tracing (functions and state machines) and Step Functions' vended log delivery
    "xray:PutTraceSegments": "X-Ray ingestion supports no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray ingestion supports no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling supports no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling supports no resource-level permissions",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:GetLogDelivery": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:UpdateLogDelivery": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:DeleteLogDelivery": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:ListLogDeliveries": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:PutResourcePolicy": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:DescribeResourcePolicies": "vended log delivery (Step Functions logging) is not resource-scoped",
    "logs:DescribeLogGroups": "vended log delivery (Step Functions logging) is not resource-scoped",
    # the CloudFormation execution role of application stacks (reads while creating them)
    "ec2:Describe*": "EC2 Describe* calls support no resource-level permissions",
    "autoscaling:Describe*": "Auto Scaling Describe* calls are not resource-scoped",
    "elasticloadbalancing:Describe*": "ELB Describe* calls are not resource-scoped",
    "cloudwatch:DescribeAlarms": "alarm listing is not resource-scoped",
    "rds:DescribeDBEngineVersions": "engine catalogue reads are not resource-scoped",
    "rds:DescribeOrderableDBInstanceOptions": "engine catalogue reads are not resource-scoped",
    "secretsmanager:GetRandomPassword": "generates random bytes; no resource involved",
    # the janitor (destroy's direct removal of what outlived a stack, orphan pricing)
    "ec2:DescribeInstances": "EC2 Describe* calls support no resource-level permissions",
    "ec2:DescribeVolumes": "EC2 Describe* calls support no resource-level permissions",
    "ec2:DescribeAddresses": "EC2 Describe* calls support no resource-level permissions",
    "ec2:DescribeRouteTables": "EC2 Describe* calls support no resource-level permissions",
    "ec2:DescribeInternetGateways": "EC2 Describe* calls support no resource-level permissions",
    "elasticloadbalancing:DescribeLoadBalancers": "ELB Describe* calls are not resource-scoped",
    "rds:DescribeDBInstances": "read before deleting; DB instance names are the user's, so no name pattern",
}
