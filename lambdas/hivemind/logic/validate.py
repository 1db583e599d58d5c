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
        auto_fix=request.options.auto_fix,
    )
    if request.what_if:
        if not request.repo:
            raise InvalidInput("a what-if run needs a repository")
        ports.repos.validate_source(request.repo)
        return ctx  # what-if creates nothing, not even a deployment item

    existing = ports.store.find(request.deployment_id)
    if request.rollback:
        return _rollback(existing, request, ports, ctx, execution_id)
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
    if request.fix:
        existing, stage = _apply_fix(existing, stage, ports)
    ports.store.save(existing.model_copy(update={"retries": existing.retries + 1, "execution_arn": execution_id or None}))
    log(ports, existing.id, "validate", f"retry {existing.retries + 1}/{limit} resumes at {stage}")
    return ctx.model_copy(update={"resume_from": stage})


def _apply_fix(state: DeploymentState, stage: str, ports: Ports) -> tuple[DeploymentState, str]:
    """``retry --fix``: apply the diagnosis' safe fix; resume at the earlier of its stage and the failed one."""
    from hivemind.logic.medic.fixes import apply_fix

    diagnosis = state.diagnosis
    if diagnosis is None or not diagnosis.fixable or not diagnosis.fix:
        seen = f"the diagnosis is {diagnosis.rule}: {diagnosis.remediation}" if diagnosis else "there is no diagnosis"
        raise InvalidInput(f"deployment {state.id} has nothing HiveMind can fix by itself; {seen}",
                           stage="retry", remediation="Fix it by hand, then `hivemind retry <id>` without --fix.")
    fixed, fix_stage = apply_fix(state, diagnosis.fix)
    resume = min(stage, fix_stage, key=RESUMABLE.index)
    log(ports, state.id, "validate", f"applying fix {diagnosis.fix} ({diagnosis.rule}); resuming at {resume}",
        fix=diagnosis.fix)
    return fixed, resume


def _rollback(
    existing: DeploymentState | None, request: DeployRequest, ports: Ports, ctx: Context, execution_id: str
) -> Context:
    """Go back to the newest successful release other than the current one, resuming at deploy.

    The infrastructure stays as it is, so the earlier release must fit it: same port and database.
    """
    if existing is None:
        raise InvalidInput(f"no deployment {request.deployment_id} to roll back", stage="rollback")
    if existing.status in ACTIVE or existing.status is DeploymentStatus.DESTROYED:
        raise InvalidInput(f"deployment {existing.id} is {existing.status.value}; only a settled deployment can be "
                           "rolled back", stage="rollback",
                           remediation="Wait for the running execution (`hivemind status <id> --follow`).")
    target = existing.rollback_target()
    if target is None:
        raise InvalidInput(f"deployment {existing.id} has no earlier successful release to go back to",
                           stage="rollback",
                           remediation="Fix the app and redeploy, or destroy the deployment.")
    plan = existing.plan
    if target.stack is None or plan is None or target.stack.port != plan.port or \
            bool(target.stack.database) != bool(plan.database):
        raise InvalidInput(
            f"release {target.release.id} needs other infrastructure than the current plan (port or database)",
            stage="rollback",
            remediation=f"Redeploy its commit instead: `hivemind deploy <repo> --ref {target.release.commit}`.",
        )
    current = existing.release
    updated = existing.transition(DeploymentStatus.UPDATING, stage="deploy").model_copy(update={
        "release": target.release, "previous_release": current, "stack": target.stack, "commit": target.release.commit,
        "execution_arn": execution_id or None, "error": None,
    })
    ports.store.save(updated)
    log(ports, existing.id, "validate",
        f"rollback from {current.id if current else 'nothing'} to {target.release.id} ({target.release.commit[:12]})")
    return ctx.model_copy(update={"resume_from": "deploy"})


def _safe(url: str) -> str:
    """Strip credentials from a URL before it reaches a log."""
    if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0]:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
