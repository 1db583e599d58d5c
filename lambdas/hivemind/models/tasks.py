"""Inputs and outputs of the Lambda tasks (what the state machines pass around).

The state machines carry small references (deployment id, loop counters); the deployment
itself lives in DynamoDB.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from hivemind.models.plan import Preset


class DeployOptions(BaseModel):
    auto_rollback: bool = False
    auto_fix: bool = False
    budget_usd: float | None = Field(default=None, gt=0)
    max_repo_size_mb: int | None = Field(default=None, ge=1)
    poll_interval_s: int | None = Field(default=None, ge=1, le=300)
    # Overrides the plan's bound on one SSM command (its executionTimeout); None keeps the plan's.
    command_timeout_s: int | None = Field(default=None, ge=30, le=86400)


class DeployRequest(BaseModel):
    """Execution input of the deploy state machine (from the CLI, the API or the retry machine)."""

    deployment_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,39}$")
    repo: str | None = None
    ref: str | None = Field(default=None, max_length=200)
    preset: Preset = "stage-1"
    region: str = Field(default="us-east-1", pattern=r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
    what_if: bool = False
    resume: bool = False
    rollback: bool = False  # go back to the newest successful release other than the current one
    fix: bool = False  # with resume: apply the diagnosis' safe fix first (retry --fix)
    options: DeployOptions = Field(default_factory=DeployOptions)


class TaskInput(BaseModel):
    """Common input of every task after Validate."""

    deployment_id: str
    execution_id: str = ""
    polls: int = Field(default=0, ge=0)


class Context(BaseModel):
    """What Validate hands the rest of the pipeline (``$.ctx``)."""

    deployment_id: str
    resume_from: Literal["analyze", "provision", "deploy", "harden", "verify"] = "analyze"
    what_if: bool = False
    poll_interval_s: int = 10
    auto_rollback: bool = False
    auto_fix: bool = False


class Poll(BaseModel):
    """A loop counter and whether the awaited thing is done (``$.poll``)."""

    done: bool = False
    polls: int = 0
    detail: dict[str, Any] = Field(default_factory=dict)


class DiagnoseInput(TaskInput):
    input: dict[str, Any] = Field(default_factory=dict)  # the execution's state: ctx.auto_fix

    @property
    def auto_fix(self) -> bool:
        ctx = self.input.get("ctx")
        return bool(isinstance(ctx, dict) and ctx.get("auto_fix"))


class FailureInput(BaseModel):
    deployment_id: str
    execution_id: str = ""
    error: dict[str, Any] = Field(default_factory=dict)  # {"Error": ..., "Cause": ...} from ASL Catch


class AnalyzeInput(BaseModel):
    request: DeployRequest
    execution_id: str = ""


class PlanInput(BaseModel):
    request: DeployRequest
    stack: dict[str, Any]
    execution_id: str = ""


class CommandPollInput(TaskInput):
    command_id: str
    instance_ids: list[str]
    phase: Literal["deploy", "harden"] = "deploy"


class StackPollInput(TaskInput):
    deleting: bool = False


class DestroyInput(TaskInput):
    action: Literal["start", "finish"] = "start"
    request: dict[str, Any] = Field(default_factory=dict)  # the execution input: skip_snapshot, reason

    @property
    def skip_snapshot(self) -> bool:
        return bool(self.request.get("skip_snapshot", False))
