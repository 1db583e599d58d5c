"""Validate: check the request, create or load the deployment, decide where the pipeline starts."""

from __future__ import annotations

from hivemind.errors import InvalidInput
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus
from hivemind.models.state import ACTIVE
from hivemind.models.tasks import Context, DeployRequest

RESUMABLE = ("analyze", "provision", "deploy", "harden", "verify")


def validate(request: DeployRequest, ports: Ports, execution_id: str = "") -> Context:
    settings = ports.settings
    interval = request.options.poll_interval_s or settings.poll_interval_s or 10
    ctx = Context(
        deployment_id=request.deployment_id,
        what_if=request.what_if,
        poll_interval_s=interval,
        auto_rollback=request.options.auto_rollback,
    )
    if request.what_if:
        if not request.repo:
            raise InvalidInput("a what-if run needs a repository")
        ports.repos.validate_source(request.repo)
        return ctx  # what-if creates nothing, not even a deployment item

    existing = ports.store.find(request.deployment_id)
    if request.resume:
        return _resume(existing, request, ports, ctx, execution_id)
    if not request.repo:
        raise InvalidInput("a deploy needs a repository (git URL or path)")
    ports.repos.validate_source(request.repo)
    if existing is None:
        state = DeploymentState(
            id=request.deployment_id,
            repo=request.repo,
            ref=request.ref,
            preset=request.preset,
            region=request.region,
            execution_arn=execution_id or None,
        )
        ports.store.create(state)
        log(ports, state.id, "validate", "deployment created", repo=_safe(request.repo), preset=request.preset)
        return ctx
    if existing.status in ACTIVE:
        raise InvalidInput(
            f"deployment {existing.id} is {existing.status.value}; wait for it to settle "
            f"(`hivemind status {existing.id}`)",
            remediation="Wait for the running execution to finish, or destroy the deployment.",
        )
    if existing.status is DeploymentStatus.DESTROYED:
        raise InvalidInput(f"deployment {existing.id} was destroyed; deploy again to create a new one")
    # A redeploy: new release on the existing deployment (succeeded / rolled_back -> updating;
    # failed -> start over from analyze).
    target = DeploymentStatus.UPDATING if existing.status is not DeploymentStatus.FAILED else DeploymentStatus.ANALYZING
    updated = existing.transition(target, stage="analyze").model_copy(
        update={"ref": request.ref, "repo": request.repo, "execution_arn": execution_id or None, "error": None}
    )
    ports.store.save(updated)
    log(ports, existing.id, "validate", "redeploy requested", ref=request.ref)
    return ctx


def _resume(
    existing: DeploymentState | None, request: DeployRequest, ports: Ports, ctx: Context, execution_id: str
) -> Context:
    if existing is None:
        raise InvalidInput(f"no deployment {request.deployment_id} to retry")
    if existing.status is not DeploymentStatus.FAILED:
        raise InvalidInput(
            f"deployment {existing.id} is {existing.status.value}; only a failed deployment can be retried"
        )
    limit = ports.settings.max_retries
    if existing.retries >= limit:
        raise InvalidInput(
            f"deployment {existing.id} was retried {existing.retries} times (limit {limit})",
            remediation="Fix the cause and deploy again, or destroy it (`hivemind destroy`).",
        )
    stage = existing.stage if existing.stage in RESUMABLE else "analyze"
    if stage == "analyze" or existing.stack is None or existing.plan is None:
        stage = "analyze"
    ports.store.save(existing.model_copy(update={"retries": existing.retries + 1, "execution_arn": execution_id or None}))
    log(ports, existing.id, "validate", f"retry {existing.retries + 1}/{limit} resumes at {stage}")
    return ctx.model_copy(update={"resume_from": stage})


def _safe(url: str) -> str:
    """Strip credentials from a URL before it reaches a log."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
