"""HiveMind Janitor: find resources tagged by HiveMind that nothing owns any more, price and delete them.

An orphan is a resource carrying the ``hivemind:deployment-id`` tag whose deployment is
destroyed, unknown to the state table, or failed longer ago than its cleanup timer
(``settings.cleanup_timer_hours``) — the timer should have removed it. A live, succeeded or
recently failed deployment's resources are never orphans.

Costs come from the same offline price table the plan uses (``hivemind/planning/prices.json``);
a kind the table does not price is $0 and says so. Deletion runs in dependency order and never
stops halfway: every resource is tried, and what could not be deleted is reported with the AWS
error.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from hivemind import constants
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus

REASON_UNKNOWN = "unknown deployment"
REASON_DESTROYED = "deployment destroyed"
REASON_FAILED = "failed past its cleanup timer"

# Deletion order: a resource is deleted only after everything that depends on it.
# Kinds are "<service>:<resource type>" as they appear in the ARN. Unlisted kinds (secrets,
# alarms, log groups, SSM parameters, buckets...) depend on nothing and go last, as they come.
DELETE_ORDER: tuple[tuple[str, ...], ...] = (
    ("autoscaling:autoScalingGroup",),
    ("ec2:instance",),
    ("elasticloadbalancing:listener-rule", "elasticloadbalancing:listener"),
    # The load balancer before its target groups: a target group cannot be deleted while a
    # listener forwards to it, and listeners carry no tags (CloudFormation cannot tag them), so
    # they are never in the list — deleting the load balancer removes them.
    ("elasticloadbalancing:loadbalancer",),
    ("elasticloadbalancing:targetgroup",),
    ("rds:db", "rds:cluster"),
    ("rds:subgrp", "rds:pg", "ec2:natgateway", "ec2:launch-template"),
    ("ec2:elastic-ip", "ec2:network-interface", "ec2:volume"),
    ("ec2:security-group",),
    ("ec2:subnet", "ec2:route-table", "ec2:internet-gateway"),
    ("ec2:vpc",),
)
_RANK = {kind: rank for rank, kinds in enumerate(DELETE_ORDER) for kind in kinds}
_LAST = len(DELETE_ORDER)


class Orphan(BaseModel):
    arn: str
    deployment_id: str
    reason: str
    kind: str = ""
    monthly_usd: float = 0.0
    cost_note: str = ""


class DeleteFailure(BaseModel):
    arn: str
    error: str


class DeleteReport(BaseModel):
    deleted: list[str] = []  # in the order they were deleted (already-gone ones included)
    already_gone: list[str] = []
    failed: list[DeleteFailure] = []


class SweepResult(BaseModel):
    count: int
    monthly_usd: float
    orphans: list[Orphan]
    deleted: list[str] | None = None  # None: the sweep only listed
    failed: list[DeleteFailure] | None = None


def arn_kind(arn: str) -> str:
    """``arn:aws:ec2:r:a:instance/i-1`` -> ``ec2:instance``; ``arn:aws:rds:r:a:db:x`` -> ``rds:db``."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return "unknown"
    service, resource = parts[2], parts[5]
    if service == "s3":
        return "s3:object" if "/" in resource else "s3:bucket"
    if service in {"sns", "sqs"}:
        return f"{service}:{'topic' if service == 'sns' else 'queue'}"
    cuts = [i for i in (resource.find("/"), resource.find(":")) if i >= 0]
    return f"{service}:{resource[:min(cuts)] if cuts else resource}"


# --- finding ---------------------------------------------------------------------------------------
def find_orphans(ports: Ports, now: datetime | None = None) -> list[Orphan]:
    """Every HiveMind-tagged resource no live deployment owns, with its reason and monthly cost."""
    from hivemind.logic.destroy import _is_final_snapshot

    now = now or datetime.now(UTC)
    verdicts: dict[str, str | None] = {}
    orphans: list[Orphan] = []
    for res in ports.tagged.arns():
        if _is_final_snapshot(res["arn"]):
            continue  # the user's data, kept on purpose by destroy
        dep = res["deployment_id"]
        if dep not in verdicts:
            state = ports.store.find(dep) if dep else None
            verdicts[dep] = orphan_reason(state, ports.settings.cleanup_timer_hours, now)
        reason = verdicts[dep]
        if reason is not None:
            orphans.append(Orphan(arn=res["arn"], deployment_id=dep, reason=reason, kind=arn_kind(res["arn"])))
    return [_priced(o, ports) for o in orphans]


def orphan_reason(state: DeploymentState | None, timer_hours: float, now: datetime) -> str | None:
    """Why a deployment's resources are orphans, or None when the deployment still owns them."""
    if state is None:
        return REASON_UNKNOWN
    if state.status is DeploymentStatus.DESTROYED:
        return REASON_DESTROYED
    if state.status is DeploymentStatus.FAILED:
        failed_at = state.error.at if state.error else state.updated_at
        deadline = failed_at + timedelta(hours=timer_hours)
        if now >= deadline:
            return f"{REASON_FAILED} (failed {failed_at:%Y-%m-%d %H:%M} UTC, timer {timer_hours:g} h)"
    return None


# --- pricing -----------------------------------------------------------------------------------------
def _priced(orphan: Orphan, ports: Ports) -> Orphan:
    try:
        facts = _janitor(ports).describe(orphan.arn)
    except Exception as exc:  # noqa: BLE001 - a price is best effort; the listing must not fail on it
        return orphan.model_copy(update={"cost_note": f"$0: could not describe it ({type(exc).__name__}: {exc})"})
    usd, note = monthly_cost(orphan.kind, facts, _region(orphan.arn, ports))
    return orphan.model_copy(update={"monthly_usd": usd, "cost_note": note})


def monthly_cost(kind: str, facts: dict[str, Any], region: str) -> tuple[float, str]:
    """Estimated USD/month of one resource from the plan's price table; (0, why) when it has no price."""
    from hivemind.planning.cost import price_table, region_prices

    if facts.get("gone"):
        return 0.0, "$0: already gone"
    prices, _listed = region_prices(region)
    hours = float(price_table()["hours_per_month"])
    try:
        usd, note = _price(kind, facts, prices, hours, price_table()["assumptions"])
    except KeyError as exc:
        return 0.0, f"$0: no price for {exc.args[0]!s} in the price table"
    return round(usd, 2), note


def _price(kind: str, facts: dict[str, Any], p: dict[str, Any], hours: float,
           assumptions: dict[str, Any]) -> tuple[float, str]:
    if kind == "ec2:instance":
        if facts.get("state") in {"terminated", "shutting-down"}:
            return 0.0, "$0: terminated"
        usd = p["ec2_hourly"][facts["instance_type"]] * hours + facts.get("volume_gb", 0) * p["ebs_gp3_gb_month"]
        usd += p["public_ipv4_hourly"] * hours if facts.get("public_ip") else 0.0
        return usd, f"{facts['instance_type']} on-demand + {facts.get('volume_gb', 0)} GB gp3"
    if kind == "ec2:volume":
        if facts.get("state") == "in-use":
            return 0.0, "$0 here: priced with its instance"
        return facts["size_gb"] * p["ebs_gp3_gb_month"], f"{facts['size_gb']} GB volume"
    if kind == "elasticloadbalancing:loadbalancer":
        if facts.get("type", "application") != "application":
            raise KeyError(f"{facts.get('type')} load balancer")
        lcu = float(assumptions["alb_lcu_per_hour"])
        usd = (p["alb_hourly"] + lcu * p["alb_lcu_hourly"]) * hours
        if facts.get("scheme", "internet-facing") == "internet-facing":
            usd += facts.get("azs", 0) * int(assumptions["alb_public_ipv4_per_az"]) * p["public_ipv4_hourly"] * hours
        return usd, f"Application Load Balancer, {lcu:g} LCU"
    if kind == "ec2:natgateway":
        return p["nat_gateway_hourly"] * hours, "NAT gateway (data processing not included)"
    if kind == "ec2:elastic-ip":
        return p["public_ipv4_hourly"] * hours, "public IPv4 address"
    if kind == "rds:db":
        deployment = "multi_az" if facts.get("multi_az") else "single_az"
        hourly = p["rds_hourly"][facts["engine"]][deployment][facts["instance_class"]]
        usd = hourly * hours + facts.get("storage_gb", 0) * p["rds_gp3_gb_month"][deployment]
        return usd, f"{facts['instance_class']} {facts['engine']} {deployment.replace('_', '-')}"
    if kind == "secretsmanager:secret":
        return p["secrets_manager_secret_month"], "Secrets Manager secret"
    if kind == "cloudwatch:alarm":
        return p["cloudwatch_alarm_month"], "CloudWatch alarm"
    if kind == "cloudwatch:dashboard":
        return p["cloudwatch_dashboard_month"], "CloudWatch dashboard"
    return 0.0, f"$0: {kind} has no price in the price table"


def _region(arn: str, ports: Ports) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else getattr(ports.settings, "region", None) or "us-east-1"


# --- deleting ----------------------------------------------------------------------------------------
def deletion_order(orphans: Iterable[Orphan]) -> list[Orphan]:
    """Dependents first (ASG, instances, listeners...), the VPC last; ties keep their listing order."""
    return sorted(orphans, key=lambda o: _RANK.get(o.kind or arn_kind(o.arn), _LAST))


def delete_orphans(orphans: Iterable[Orphan], ports: Ports) -> DeleteReport:
    """Delete ``orphans`` in dependency order; never stops halfway.

    A delete that fails is tried once more after all the others (a security group referenced by
    another group's rule, a subnet whose instance was still terminating); what still fails is
    reported by ARN with the AWS error. Resources already gone count as deleted.
    """
    janitor = _janitor(ports)
    report = DeleteReport()
    pending = deletion_order(orphans)
    errors: dict[str, str] = {}
    for _attempt in range(2):
        retry: list[Orphan] = []
        for orphan in pending:
            try:
                removed = janitor.delete(orphan.arn)
            except Exception as exc:  # noqa: BLE001 - record it and go on with the rest
                errors[orphan.arn] = _describe_error(exc)
                retry.append(orphan)
                continue
            errors.pop(orphan.arn, None)
            report.deleted.append(orphan.arn)
            if not removed:
                report.already_gone.append(orphan.arn)
        pending = retry
        if not pending:
            break
    report.failed = [DeleteFailure(arn=o.arn, error=errors[o.arn]) for o in pending]
    return report


def _describe_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def _janitor(ports: Ports) -> Any:
    """The resource janitor port (``ports.extra["janitor"]``), the AWS adapter when none is given."""
    janitor = ports.extra.get("janitor")
    if janitor is None:
        from hivemind.adapters.janitor import ResourceJanitor

        janitor = ports.extra["janitor"] = ResourceJanitor()
    return janitor


# --- the sweep (scheduled) -------------------------------------------------------------------------
def sweep(ports: Ports, delete: bool | None = None, now: datetime | None = None) -> SweepResult:
    """List orphans, emit ``Orphans Found`` (count, cost), and delete them only when asked.

    Deleting on a schedule with no human looking is off by default: ``delete`` None follows
    ``settings.sweep_delete`` (False unless configured).
    """
    orphans = find_orphans(ports, now)
    total = round(sum(o.monthly_usd for o in orphans), 2)
    result = SweepResult(count=len(orphans), monthly_usd=total, orphans=orphans)
    if delete is None:
        delete = bool(getattr(ports.settings, "sweep_delete", False))
    if delete and orphans:
        report = delete_orphans(orphans, ports)
        result.deleted, result.failed = report.deleted, report.failed
    if orphans:
        detail: dict[str, Any] = {
            "count": len(orphans),
            "monthly_usd": total,
            "orphans": [o.model_dump(include={"arn", "deployment_id", "reason", "monthly_usd"}) for o in orphans[:100]],
        }
        if result.deleted is not None:
            detail["deleted"] = len(result.deleted)
            detail["failed"] = [f.model_dump() for f in result.failed or []][:100]
        ports.events.publish(constants.EV_ORPHANS, detail)
    return result
