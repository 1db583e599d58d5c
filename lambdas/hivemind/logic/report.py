"""Report: mark the deployment succeeded, announce it, store the report."""

from __future__ import annotations

from pydantic import BaseModel

from hivemind import constants
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentStatus
from hivemind.models.state import KEEP_GOOD_RELEASES, GoodRelease


class ReportResult(BaseModel):
    deployment_id: str
    status: str
    url: str | None
    release: str | None
    monthly_usd: float | None


def report(deployment_id: str, ports: Ports) -> ReportResult:
    state = ports.store.get(deployment_id)
    if state.status is not DeploymentStatus.SUCCEEDED:
        good = [g for g in state.good_releases if not state.release or g.release.id != state.release.id]
        if state.release:
            good.append(GoodRelease(release=state.release, stack=state.stack))
        state = ports.store.save(state.transition(DeploymentStatus.SUCCEEDED, stage="report").model_copy(
            update={"error": None, "good_releases": good[-KEEP_GOOD_RELEASES:]}))
    result = ReportResult(
        deployment_id=state.id,
        status=state.status.value,
        url=state.url,
        release=state.release.id if state.release else None,
        monthly_usd=state.cost.monthly_usd if state.cost else None,
    )
    ports.objects.put_text(f"{constants.REPORTS_PREFIX}{state.id}/report.json", state.model_dump_json(indent=1))
    ports.events.publish(constants.EV_SUCCEEDED, result.model_dump())
    log(ports, state.id, "report", f"succeeded: {state.url}")
    return result
