"""Names shared by the CDK app, the handlers, the CLI and the local cloud.

One module, so the control plane on AWS and the one in the local cloud cannot drift apart.
"""

from __future__ import annotations

CONTROL_PLANE_STACK = "hivemind"
SERVICE = "hivemind"

TABLE_NAME = "hivemind-deployments"
IDEMPOTENCY_TABLE_NAME = "hivemind-idempotency"
STATUS_INDEX = "by-status"  # GSI: gsi1pk = STATUS#<status>, gsi1sk = <updated_at>#<id>
EVENT_BUS_NAME = "hivemind"
EVENT_SOURCE = "hivemind"
LOG_TTL_DAYS = 30


def artifacts_bucket_name(account: str, region: str) -> str:
    return f"hivemind-artifacts-{account}-{region}"


RELEASES_PREFIX = "releases/"
REPORTS_PREFIX = "reports/"

# Tags on every resource of an application stack.
TAG_DEPLOYMENT_ID = "hivemind:deployment-id"
TAG_MANAGED_BY = "hivemind:managed-by"
TAG_APP = "hivemind:app"

# Lambda tasks: name -> handler module under hivemind.handlers
TASKS: tuple[str, ...] = (
    "validate",
    "analyze",
    "plan",
    "provision",
    "check-stack",
    "deploy",
    "check-command",
    "harden",
    "verify",
    "record-failure",
    "diagnose",
    "rollback",
    "destroy",
    "sweep",
    "report",
)
API_FUNCTION = "api"


def function_name(task: str) -> str:
    return f"hivemind-{task}"


def handler_path(task: str) -> str:
    return f"hivemind.handlers.{task.replace('-', '_')}.lambda_handler"


def placeholder(task: str) -> str:
    """ASL placeholder for a task's function ARN: check-stack -> CheckStackFunctionArn."""
    return "".join(part.capitalize() for part in task.split("-")) + "FunctionArn"


# State machines: name -> ASL file under statemachine/
WORKFLOWS: dict[str, str] = {
    "deploy": "deploy.asl.json",
    "destroy": "destroy.asl.json",
    "retry": "retry.asl.json",
    "sweep": "sweep.asl.json",
}


def state_machine_name(workflow: str) -> str:
    return f"hivemind-{workflow}"


# SSM documents run on the application's instances.
INSTALL_DOCUMENT = "hivemind-install-release"
HARDEN_DOCUMENT = "hivemind-harden"
STOP_DOCUMENT = "hivemind-stop-app"  # stops (and optionally purges) a deployment's app on an instance

# Event detail types.
EV_STAGE_CHANGED = "Deployment Stage Changed"
EV_SUCCEEDED = "Deployment Succeeded"
EV_FAILED = "Deployment Failed"
EV_DESTROYED = "Deployment Destroyed"
EV_ORPHANS = "Orphans Found"
EV_CLEANUP_REMINDER = "Cleanup Reminder"  # a failed deployment's cleanup timer ran out (action "remind")

CLEANUP_TIMER_HOURS = 24
# The optional Bedrock reading of a failure (setting llm_diagnosis): the model the IAM policy allows.
LLM_MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"

# Control-plane stack output keys (the CLI finds everything by these).
OUT_API_URL = "ApiUrl"
OUT_TABLE = "TableName"
OUT_BUS = "EventBusName"
OUT_BUCKET = "ArtifactsBucketName"


def out_state_machine(workflow: str) -> str:
    return f"{workflow.capitalize()}StateMachineArn"

# Which task functions each state machine calls: its ASL placeholders are exactly
# {placeholder(t) for t in WORKFLOW_TASKS[w]} plus WORKFLOW_EXTRA_PLACEHOLDERS[w].
WORKFLOW_TASKS: dict[str, tuple[str, ...]] = {
    "deploy": (
        "validate",
        "analyze",
        "plan",
        "provision",
        "check-stack",
        "deploy",
        "check-command",
        "harden",
        "verify",
        "report",
        "record-failure",
        "diagnose",
        "rollback",
    ),
    "destroy": ("destroy", "check-stack", "record-failure"),
    "retry": ("record-failure",),
    "sweep": ("sweep",),
}
WORKFLOW_EXTRA_PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "deploy": (),
    "destroy": (),
    "retry": ("DeployStateMachineArn",),
    "sweep": (),
}
