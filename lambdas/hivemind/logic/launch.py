"""Starting workflows: what both the API handler and the CLI do (no second path for either)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from hivemind.errors import InvalidInput
from hivemind.models import DeploymentState, DeploymentStatus
from hivemind.models.tasks import DeployRequest

_SLUG = re.compile(r"[^a-z0-9]+")


def app_slug(repo: str) -> str:
    base = repo.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    base = base[:-4] if base.endswith(".git") else base
    slug = _SLUG.sub("-", base.lower()).strip("-")[:30].strip("-")
    return slug if len(slug) >= 2 else "app"


def new_deployment_id(repo: str) -> str:
    return f"{app_slug(repo)}-{secrets.token_hex(3)}"



def find_for_repo(store: Any, repo: str) -> DeploymentState | None:
    """The live (not destroyed) deployment of this repository, if any: a redeploy reuses it."""
    for state in store.list(limit=1000):
        if state.repo.rstrip("/") == repo.rstrip("/") and state.status is not DeploymentStatus.DESTROYED:
            return state
    return None


def execution_name(deployment_id: str, kind: str) -> str:
    return f"{deployment_id}-{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def start_deploy(workflows: Any, state_machine_arn: str, request: DeployRequest) -> str:
    if not state_machine_arn:
        raise InvalidInput("the deploy state machine is not configured")
    kind = "whatif" if request.what_if else (
        "rollback" if request.rollback else ("retry" if request.resume else "deploy"))
    return workflows.start(state_machine_arn, execution_name(request.deployment_id, kind),
                           request.model_dump(mode="json"))


def start_destroy(workflows: Any, state_machine_arn: str, deployment_id: str, skip_snapshot: bool = False,
                  reason: str = "requested") -> str:
    if not state_machine_arn:
        raise InvalidInput("the destroy state machine is not configured")
    return workflows.start(state_machine_arn, execution_name(deployment_id, "destroy"),
                           {"deployment_id": deployment_id, "skip_snapshot": skip_snapshot, "reason": reason})


def start_retry(workflows: Any, state_machine_arn: str, deployment_id: str, fix: bool = False) -> str:
    if not state_machine_arn:
        raise InvalidInput("the retry state machine is not configured")
    return workflows.start(state_machine_arn, execution_name(deployment_id, "retry"),
                           {"deployment_id": deployment_id, "fix": fix})
