"""Deployment state: the item in DynamoDB, its status machine, its logs and errors."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from hivemind.errors import IllegalTransition
from hivemind.models.diagnosis import Diagnosis
from hivemind.models.plan import CostEstimate, DeploymentPlan
from hivemind.models.stack import TechStack


def utcnow() -> datetime:
    return datetime.now(UTC)


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    ANALYZING = "analyzing"
    PROVISIONING = "provisioning"
    DEPLOYING = "deploying"
    HARDENING = "hardening"
    VERIFYING = "verifying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    UPDATING = "updating"


class Stage(StrEnum):
    VALIDATE = "validate"
    ANALYZE = "analyze"
    PLAN = "plan"
    PROVISION = "provision"
    DEPLOY = "deploy"
    HARDEN = "harden"
    VERIFY = "verify"
    REPORT = "report"
    DESTROY = "destroy"
    ROLLBACK = "rollback"


S = DeploymentStatus
# Statuses with an execution under way: a second deploy or a destroy must wait.
ACTIVE = frozenset({S.PENDING, S.ANALYZING, S.PROVISIONING, S.DEPLOYING, S.HARDENING, S.VERIFYING,
                    S.ROLLING_BACK, S.DESTROYING, S.UPDATING})

# The legal transitions of DESIGN.md. "any -> failed" means any non-final status.
_PIPELINE = [S.PENDING, S.ANALYZING, S.PROVISIONING, S.DEPLOYING, S.HARDENING, S.VERIFYING, S.SUCCEEDED]
TRANSITIONS: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {}
for _i, _s in enumerate(_PIPELINE[:-1]):
    TRANSITIONS[_s] = frozenset({_PIPELINE[_i + 1], S.FAILED})
TRANSITIONS[S.SUCCEEDED] = frozenset({S.UPDATING, S.DESTROYING})
TRANSITIONS[S.UPDATING] = frozenset({S.SUCCEEDED, S.FAILED})
# A retry resumes a failed deployment at the stage that failed (DESIGN.md's "retry").
TRANSITIONS[S.FAILED] = frozenset(
    {S.ROLLING_BACK, S.DESTROYING, S.ANALYZING, S.PROVISIONING, S.DEPLOYING, S.HARDENING, S.VERIFYING, S.UPDATING}
)
TRANSITIONS[S.ROLLING_BACK] = frozenset({S.ROLLED_BACK, S.FAILED})
TRANSITIONS[S.ROLLED_BACK] = frozenset({S.DESTROYING, S.UPDATING})
TRANSITIONS[S.DESTROYING] = frozenset({S.DESTROYED, S.FAILED})
TRANSITIONS[S.DESTROYED] = frozenset()


def check_transition(current: DeploymentStatus, new: DeploymentStatus) -> None:
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final)"
        raise IllegalTransition(
            f"deployment cannot go from {current.value} to {new.value}; allowed: {allowed}",
            context={"from": current.value, "to": new.value},
        )


class Release(BaseModel):
    id: str = Field(description="r-<n>")
    number: int = Field(ge=1)
    commit: str
    ref: str | None = None
    s3_key: str
    sha256: str
    size_bytes: int = Field(ge=0)
    created_at: datetime = Field(default_factory=utcnow)


class GoodRelease(BaseModel):
    """A release that passed Verify, with the analysis it ran with: what `rollback` goes back to."""

    release: Release
    stack: TechStack | None = None
    at: datetime = Field(default_factory=utcnow)


class ResourceInfo(BaseModel):
    logical_id: str
    physical_id: str | None = None
    type: str
    status: str | None = None
    arn: str | None = None


class LogEntry(BaseModel):
    deployment_id: str
    at: datetime = Field(default_factory=utcnow)
    stage: str
    level: str = "INFO"
    message: str
    data: dict[str, Any] = Field(default_factory=dict)


class ErrorEntry(BaseModel):
    deployment_id: str
    at: datetime = Field(default_factory=utcnow)
    stage: str
    type: str
    message: str
    context: dict[str, Any] = Field(default_factory=dict)
    remediation: str


KEEP_GOOD_RELEASES = 5


class DeploymentState(BaseModel):
    """The deployment item. ``version`` is the optimistic lock: every write is conditional on it."""

    id: str
    repo: str
    ref: str | None = None
    commit: str | None = None
    status: DeploymentStatus = DeploymentStatus.PENDING
    stage: str = Stage.VALIDATE.value
    preset: str = "stage-1"
    region: str = "us-east-1"
    stack: TechStack | None = None
    plan: DeploymentPlan | None = None
    stack_name: str | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    release: Release | None = None
    previous_release: Release | None = None
    good_releases: list[GoodRelease] = Field(default_factory=list)  # newest last, at most KEEP_GOOD_RELEASES
    # instance id -> version of the harden document that succeeded on it (a redeploy skips those)
    hardened: dict[str, str] = Field(default_factory=dict)
    releases: int = 0
    resources: list[ResourceInfo] = Field(default_factory=list)
    cost: CostEstimate | None = None
    url: str | None = None
    execution_arn: str | None = None
    retries: int = 0
    error: ErrorEntry | None = None
    diagnosis: Diagnosis | None = None  # the Medic's reading of `error` (kept as history, like `error`)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    version: int = 0

    def rollback_target(self) -> GoodRelease | None:
        """The newest successful release other than the current one."""
        current = self.release.id if self.release else None
        return next((g for g in reversed(self.good_releases) if g.release.id != current), None)

    def transition(self, new: DeploymentStatus, *, stage: str | None = None) -> DeploymentState:
        """Return a copy in status ``new``; raise IllegalTransition if DESIGN.md forbids it."""
        check_transition(self.status, new)
        update: dict[str, Any] = {"status": new, "updated_at": utcnow()}
        if stage is not None:
            update["stage"] = stage
        return self.model_copy(update=update)
