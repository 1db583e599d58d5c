"""Cost estimate: itemized lines, totals, regional prices, the budget check and the price table."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest
from hivemind.errors import BudgetExceeded, InvalidInput
from hivemind.models import CostEstimate, CostLine
from hivemind.planning.cost import check_budget, estimate, price_table, region_prices
from hivemind.planning.plan import DB_SIZES, INSTANCE_TYPES, make_plan
from hivemind.planning.template import build_template

from ._support import LANGUAGES, PRICED_REGIONS, make_stack

PRICED_TYPES = {
    "AWS::AutoScaling::AutoScalingGroup", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::EC2::NatGateway",
    "AWS::EC2::EIP", "AWS::RDS::DBInstance", "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm",
    "AWS::CloudWatch::Dashboard",
}


def cost_of(language: str = "python", database: str | None = None, preset: str = "stage-1",
            region: str = "us-east-1") -> CostEstimate:
    plan = make_plan(make_stack(language, database), deployment_id="d1", app_name="demo", preset=preset,
                     region=region)
    return estimate(plan, build_template(plan))


def lines_for(cost: CostEstimate, resource: str) -> list[CostLine]:
    return [line for line in cost.lines if line.resource == resource]


@pytest.mark.parametrize(
    ("language", "database", "preset"),
    list(itertools.product(LANGUAGES, (None, "postgres", "mysql"), ("stage-1", "production"))),
)
def test_total_is_the_sum_of_the_lines_and_every_priced_resource_has_one(
    language: str, database: str | None, preset: str
) -> None:
    plan = make_plan(make_stack(language, database), deployment_id="d1", app_name="demo", preset=preset)
    template = build_template(plan)
    cost = estimate(plan, template)
    assert math.isclose(cost.monthly_usd, sum(line.monthly_usd for line in cost.lines), abs_tol=1e-9)
    for line in cost.lines:
        assert line.monthly_usd == round(line.quantity * line.unit_price_usd, 2)
        assert line.resource in template["Resources"]
    priced = {lid for lid, r in template["Resources"].items() if r["Type"] in PRICED_TYPES}
    assert {line.resource for line in cost.lines} == priced
    assert cost.price_source and cost.price_date == price_table()["date"]


def test_stage_1_python_instance_line_is_730_hours_of_t4g_small() -> None:
    cost = cost_of("python")
    prices, _ = region_prices("us-east-1")
    instance = lines_for(cost, "AutoScalingGroup")[0]
    assert "t4g.small" in instance.item
    assert instance.quantity == 730
    assert instance.unit_price_usd == prices["ec2_hourly"]["t4g.small"]
    assert instance.monthly_usd == round(730 * prices["ec2_hourly"]["t4g.small"], 2)
    items = " ".join(line.item for line in lines_for(cost, "AutoScalingGroup"))
    assert "gp3 root volume" in items and "public IPv4" in items  # stage-1 instance has a public IP


def test_production_prices_nat_multi_az_database_and_no_instance_public_ip() -> None:
    cost = cost_of("node", "postgres", "production")
    prices, _ = region_prices("us-east-1")
    assert lines_for(cost, "NatGateway")[0].unit_price_usd == prices["nat_gateway_hourly"]
    assert lines_for(cost, "NatEip")[0].unit_price_usd == prices["public_ipv4_hourly"]
    db_instance, db_storage = lines_for(cost, "Database")
    assert db_instance.unit_price_usd == prices["rds_hourly"]["postgres"]["multi_az"]["db.t4g.small"]
    assert db_storage.unit_price_usd == prices["rds_gp3_gb_month"]["multi_az"]
    assert not any("public IPv4" in line.item for line in lines_for(cost, "AutoScalingGroup"))
    instances = lines_for(cost, "AutoScalingGroup")[0]
    assert instances.quantity == 2 * 730  # desired capacity of 2


def test_load_balancer_lines_include_hours_lcu_and_its_public_addresses() -> None:
    lines = lines_for(cost_of(), "LoadBalancer")
    prices, _ = region_prices("us-east-1")
    assert [line.unit_price_usd for line in lines] == [
        prices["alb_hourly"], prices["alb_lcu_hourly"], prices["public_ipv4_hourly"]
    ]
    assert lines[2].quantity == 2 * 730  # one address per AZ subnet


def test_more_infrastructure_costs_more() -> None:
    assert cost_of("go").monthly_usd < cost_of("python").monthly_usd  # t4g.micro < t4g.small
    assert cost_of("python").monthly_usd < cost_of("python", "postgres").monthly_usd
    assert cost_of("python", "postgres").monthly_usd < cost_of("python", "postgres", "production").monthly_usd


def test_regions_differ_where_prices_differ() -> None:
    us_east = cost_of("python", "postgres", region="us-east-1")
    assert cost_of("python", "postgres", region="us-west-2").monthly_usd == us_east.monthly_usd
    for region in ("eu-west-1", "eu-central-1", "ap-southeast-1"):
        other = cost_of("python", "postgres", region=region)
        assert other.region == region
        assert other.monthly_usd > us_east.monthly_usd, region
    assert (cost_of(region="eu-central-1").lines[0].unit_price_usd
            > cost_of(region="us-east-1").lines[0].unit_price_usd)


def test_unlisted_region_uses_default_prices_and_says_so() -> None:
    cost = cost_of(region="sa-east-1")
    assert cost.monthly_usd == cost_of(region="us-east-1").monthly_usd
    assert "sa-east-1 is not in the table" in cost.price_source
    assert "not in the table" not in cost_of(region="eu-west-1").price_source


def test_price_table_covers_everything_the_planner_can_choose() -> None:
    table = price_table()
    assert table["source"] and table["date"] and table["hours_per_month"] == 730
    assert set(PRICED_REGIONS) <= set(table["regions"])
    for region in PRICED_REGIONS:
        prices, listed = region_prices(region)
        assert listed
        for instance_type in set(INSTANCE_TYPES.values()):
            assert prices["ec2_hourly"][instance_type] > 0
        for (db_class, _gb, _days, _multi), engine in itertools.product(DB_SIZES.values(), ("postgres", "mysql")):
            single = prices["rds_hourly"][engine]["single_az"][db_class]
            multi = prices["rds_hourly"][engine]["multi_az"][db_class]
            assert 0 < single < multi
        for key in ("ebs_gp3_gb_month", "alb_hourly", "alb_lcu_hourly", "nat_gateway_hourly",
                    "public_ipv4_hourly", "cloudwatch_alarm_month", "cloudwatch_dashboard_month",
                    "secrets_manager_secret_month"):
            assert prices[key] > 0, (region, key)
        assert prices["public_ipv4_hourly"] == 0.005


def test_missing_price_is_a_clear_error() -> None:
    plan = make_plan(make_stack(), deployment_id="d1", app_name="demo")
    template = build_template(plan)
    template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]["InstanceType"] = "x9.huge"
    with pytest.raises(InvalidInput) as err:
        estimate(plan, template)
    assert "x9.huge" in str(err.value)
    assert "prices.json" in err.value.remediation


# --- budget ------------------------------------------------------------------------------------
def test_within_budget_passes() -> None:
    cost = cost_of()
    check_budget(cost, cost.monthly_usd)
    check_budget(cost, cost.monthly_usd + 100)


def test_over_budget_names_estimate_budget_and_biggest_line() -> None:
    cost = cost_of("node", "postgres", "production")
    biggest = max(cost.lines, key=lambda line: line.monthly_usd)
    with pytest.raises(BudgetExceeded) as err:
        check_budget(cost, 20)
    message = str(err.value)
    assert f"${cost.monthly_usd:.2f}" in message
    assert "$20.00" in message
    assert biggest.resource in message and f"${biggest.monthly_usd:.2f}" in message
    assert "stage-1" in err.value.remediation and "database" in err.value.remediation
    assert err.value.stage == "plan"
    assert err.value.context["estimate_usd"] == cost.monthly_usd


def test_over_budget_stage_1_without_db_only_suggests_raising_it() -> None:
    cost = cost_of("go")
    with pytest.raises(BudgetExceeded) as err:
        check_budget(cost, 1)
    assert "stage-1" not in err.value.remediation
    assert "--budget" in err.value.remediation


@pytest.mark.parametrize("budget", [0, -5, float("nan"), float("inf"), "50", True])
def test_invalid_budget_is_rejected(budget: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        check_budget(cost_of(), budget)
    assert "budget" in str(err.value)
