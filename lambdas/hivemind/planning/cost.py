"""Monthly cost estimate of an application stack, from an offline price table (prices.json).

Offline on purpose: the Price List API is slow, needs credentials and is not in the local cloud;
a table with a stated source and date gives the same answer everywhere and in tests. Quantities
are read from the template itself (what will really be created), prices from the plan's region;
a region missing from the table falls back to the default region and says so in price_source.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from hivemind.errors import BudgetExceeded, InvalidInput
from hivemind.models import CostEstimate, CostLine, DeploymentPlan

PRICES_FILE = Path(__file__).with_name("prices.json")

Template = dict[str, Any]


@cache
def price_table() -> dict[str, Any]:
    """The raw table (read once per process: Lambda keeps it across invocations)."""
    return json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def region_prices(region: str) -> tuple[dict[str, Any], bool]:
    """Prices for ``region`` (its entries merged over the default region's); True when it is listed."""
    table = price_table()
    base = table["regions"][table["default_region"]]
    if region not in table["regions"]:
        return base, False
    return _merge(base, table["regions"][region]), True


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(base[key], value) if isinstance(value, dict) and key in base else value
    return out


def estimate(plan: DeploymentPlan, template: Template) -> CostEstimate:
    """Itemized monthly estimate: one or more CostLine per priced logical id of ``template``."""
    table = price_table()
    prices, listed = region_prices(plan.region)
    hours = float(table["hours_per_month"])
    pricer = _Pricer(prices, hours, table["assumptions"])
    resources = template["Resources"]
    lines: list[CostLine] = []
    for logical_id, resource in resources.items():
        lines.extend(pricer.lines(logical_id, resource, resources))
    source = table["source"]
    if not listed:
        source += f"; {plan.region} is not in the table, {table['default_region']} prices used"
    return CostEstimate(
        region=plan.region,
        monthly_usd=round(sum(line.monthly_usd for line in lines), 2),
        lines=lines,
        price_source=source,
        price_date=table["date"],
    )


def check_budget(cost: CostEstimate, budget_usd: float) -> None:
    """Raise BudgetExceeded when the estimate is above ``budget_usd`` (what-if and deploy both call it)."""
    if isinstance(budget_usd, bool) or not isinstance(budget_usd, int | float) or not math.isfinite(budget_usd) \
            or budget_usd <= 0:
        raise InvalidInput(
            f"invalid budget {budget_usd!r}: give a positive number of US dollars per month",
            remediation="Pass --budget as a number, e.g. --budget 50.",
            stage="plan",
            context={"budget_usd": str(budget_usd)},
        )
    if cost.monthly_usd <= budget_usd:
        return
    biggest = max(cost.lines, key=lambda line: line.monthly_usd)
    raise BudgetExceeded(
        f"estimated cost ${cost.monthly_usd:.2f}/month in {cost.region} is above the budget "
        f"${budget_usd:.2f}/month (over by ${cost.monthly_usd - budget_usd:.2f}); biggest line: "
        f"{biggest.resource} ({biggest.item}) ${biggest.monthly_usd:.2f}/month",
        remediation=_budget_remediation(cost),
        context={
            "estimate_usd": cost.monthly_usd,
            "budget_usd": budget_usd,
            "biggest_line": biggest.model_dump(),
        },
    )


def _budget_remediation(cost: CostEstimate) -> str:
    """Suggest what would cut the most, based on what the estimate contains."""
    by_resource: dict[str, float] = {}
    for line in cost.lines:
        by_resource[line.resource] = by_resource.get(line.resource, 0.0) + line.monthly_usd
    steps = []
    if "NatGateway" in by_resource:
        steps.append("choose --preset stage-1 (one instance, no NAT gateway, single-AZ database)")
    if "Database" in by_resource:
        steps.append(f"drop the managed database (it costs ${by_resource['Database']:.2f}/month)")
    steps.append("raise --budget")
    if len(steps) == 1:
        return "Raise --budget: this is already the smallest plan for the app."
    return "Either " + ", or ".join(steps) + "."


class _Pricer:
    """Prices one resource at a time; unpriced types (VPC, routes, SG, IAM, SSM parameter) are free."""

    def __init__(self, prices: dict[str, Any], hours: float, assumptions: dict[str, Any]) -> None:
        self.p = prices
        self.hours = hours
        self.assumptions = assumptions

    def lines(self, logical_id: str, resource: dict[str, Any], resources: dict[str, Any]) -> list[CostLine]:
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::AutoScaling::AutoScalingGroup":
            return self._instances(logical_id, props, resources)
        if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            return self._load_balancer(logical_id, props)
        if kind == "AWS::EC2::NatGateway":
            return [self._hourly(logical_id, "NAT gateway (data processing not included)", 1,
                                 self.p["nat_gateway_hourly"])]
        if kind == "AWS::EC2::EIP":
            return [self._hourly(logical_id, "public IPv4 address (Elastic IP)", 1, self.p["public_ipv4_hourly"])]
        if kind == "AWS::RDS::DBInstance":
            return self._database(logical_id, props)
        if kind == "AWS::SecretsManager::Secret":
            return [self._monthly(logical_id, "Secrets Manager secret", 1, "secret-month",
                                  self.p["secrets_manager_secret_month"])]
        if kind == "AWS::CloudWatch::Alarm":
            return [self._monthly(logical_id, "CloudWatch standard alarm", 1, "alarm-month",
                                  self.p["cloudwatch_alarm_month"])]
        if kind == "AWS::CloudWatch::Dashboard":
            return [self._monthly(logical_id, "CloudWatch dashboard (free tier ignored)", 1, "dashboard-month",
                                  self.p["cloudwatch_dashboard_month"])]
        return []

    # -- per type --------------------------------------------------------------------------------
    def _instances(self, logical_id: str, props: dict[str, Any], resources: dict[str, Any]) -> list[CostLine]:
        count = int(props["DesiredCapacity"])
        data = resources[props["LaunchTemplate"]["LaunchTemplateId"]["Ref"]]["Properties"]["LaunchTemplateData"]
        instance_type = data["InstanceType"]
        span = f"{count}" if props["MinSize"] == props["MaxSize"] else f"{count} (scales {props['MinSize']}-{props['MaxSize']})"
        out = [
            self._hourly(logical_id, f"{span} x {instance_type} on-demand Linux", count,
                         self._lookup(self.p["ec2_hourly"], instance_type, "EC2 instance type"))
        ]
        volume_gb = sum(m["Ebs"]["VolumeSize"] for m in data.get("BlockDeviceMappings", []) if "Ebs" in m)
        if volume_gb:
            out.append(self._monthly(logical_id, f"{count} x {volume_gb} GB gp3 root volume", count * volume_gb,
                                     "GB-month", self.p["ebs_gp3_gb_month"]))
        if any(ni.get("AssociatePublicIpAddress") for ni in data.get("NetworkInterfaces", [])):
            out.append(self._hourly(logical_id, f"{count} x public IPv4 address on the instances", count,
                                    self.p["public_ipv4_hourly"]))
        return out

    def _load_balancer(self, logical_id: str, props: dict[str, Any]) -> list[CostLine]:
        lcu = float(self.assumptions["alb_lcu_per_hour"])
        azs = len(props.get("Subnets", [])) * int(self.assumptions["alb_public_ipv4_per_az"])
        out = [
            self._hourly(logical_id, "Application Load Balancer", 1, self.p["alb_hourly"]),
            self._hourly(logical_id, f"{lcu:g} LCU average (low-traffic assumption)", lcu, self.p["alb_lcu_hourly"]),
        ]
        if props.get("Scheme", "internet-facing") == "internet-facing" and azs:
            out.append(self._hourly(logical_id, f"{azs} x public IPv4 address of the load balancer", azs,
                                    self.p["public_ipv4_hourly"]))
        return out

    def _database(self, logical_id: str, props: dict[str, Any]) -> list[CostLine]:
        engine = props["Engine"]
        klass = props["DBInstanceClass"]
        deployment = "multi_az" if props.get("MultiAZ") else "single_az"
        label = "Multi-AZ" if deployment == "multi_az" else "single-AZ"
        by_engine = self._lookup(self.p["rds_hourly"], engine, "RDS engine")
        hourly = self._lookup(by_engine[deployment], klass, f"RDS {engine} {label} instance class")
        storage = int(props["AllocatedStorage"])
        return [
            self._hourly(logical_id, f"{klass} {engine} {label}", 1, hourly),
            self._monthly(logical_id, f"{storage} GB gp3 database storage, {label}", storage, "GB-month",
                          self.p["rds_gp3_gb_month"][deployment]),
        ]

    # -- helpers ---------------------------------------------------------------------------------
    def _hourly(self, logical_id: str, item: str, quantity: float, unit_price: float) -> CostLine:
        """``quantity`` units running all month: priced per unit-hour, shown per month."""
        return CostLine(
            resource=logical_id,
            item=f"{item}, {self.hours:g} h",
            quantity=quantity * self.hours,
            unit="hour" if quantity == 1 else "unit-hour",
            unit_price_usd=unit_price,
            monthly_usd=round(quantity * self.hours * unit_price, 2),
        )

    @staticmethod
    def _monthly(logical_id: str, item: str, quantity: float, unit: str, unit_price: float) -> CostLine:
        return CostLine(
            resource=logical_id,
            item=item,
            quantity=quantity,
            unit=unit,
            unit_price_usd=unit_price,
            monthly_usd=round(quantity * unit_price, 2),
        )

    @staticmethod
    def _lookup(table: dict[str, Any], key: str, what: str) -> Any:
        if key not in table:
            raise InvalidInput(
                f"no price for {what} {key!r} in the price table (known: {', '.join(sorted(table))})",
                remediation=f"Add {key!r} to hivemind/planning/prices.json, or plan with a priced size.",
                stage="plan",
                context={"missing": key},
            )
        return table[key]
