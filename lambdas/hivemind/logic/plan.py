"""Plan: the deployment plan, the application's template and its monthly cost."""

from __future__ import annotations

import json

from pydantic import BaseModel

from hivemind import constants
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import CostEstimate, DeploymentPlan, ResourceSummary, TechStack
from hivemind.planning.cost import check_budget, estimate
from hivemind.planning.plan import make_plan
from hivemind.planning.template import build_template, resources_of


class PlanResult(BaseModel):
    plan: DeploymentPlan
    resources: list[ResourceSummary]
    cost: CostEstimate
    what_if: bool = False


def app_name_of(deployment_id: str) -> str:
    return deployment_id.rsplit("-", 1)[0] if "-" in deployment_id else deployment_id


def build_plan(
    stack: TechStack,
    *,
    deployment_id: str,
    preset: str,
    region: str,
    budget_usd: float | None = None,
) -> tuple[PlanResult, dict]:
    """Pure: plan + template + cost for a stack (used by `hivemind plan` and the Plan task)."""
    plan = make_plan(stack, deployment_id=deployment_id, app_name=app_name_of(deployment_id), preset=preset,
                     region=region)
    template = build_template(plan)
    cost = estimate(plan, template)
    if budget_usd is not None:
        check_budget(cost, budget_usd)
    return PlanResult(plan=plan, resources=resources_of(template), cost=cost), template


def plan_stage(
    deployment_id: str,
    stack: TechStack,
    ports: Ports,
    *,
    what_if: bool,
    preset: str,
    region: str,
    budget_usd: float | None,
    command_timeout_s: int | None = None,
) -> PlanResult:
    if what_if:
        result, _ = build_plan(stack, deployment_id=deployment_id, preset=preset, region=region, budget_usd=budget_usd)
        return result.model_copy(update={"what_if": True})
    state = ports.store.get(deployment_id)
    result, template = build_plan(
        stack, deployment_id=deployment_id, preset=state.preset, region=state.region, budget_usd=budget_usd
    )
    if command_timeout_s is not None:  # the deploy's own bound (DeployOptions) beats the plan's default
        timeouts = result.plan.timeouts.model_copy(update={"command_timeout_s": command_timeout_s})
        result = result.model_copy(update={"plan": result.plan.model_copy(update={"timeouts": timeouts})})
    ports.store.save(
        state.model_copy(update={"plan": result.plan, "cost": result.cost, "stack_name": result.plan.stack_name})
    )
    ports.objects.put_text(f"{constants.REPORTS_PREFIX}{deployment_id}/template.json", json.dumps(template, indent=1))
    log(ports, deployment_id, "plan", f"{result.plan.preset} · {len(result.resources)} resources · "
        f"~${result.cost.monthly_usd:.2f}/month", monthly_usd=result.cost.monthly_usd)
    return result
