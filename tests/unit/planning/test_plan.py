"""make_plan: sizes by language and preset, database choice, and every bad argument."""

from __future__ import annotations

import pytest
from hivemind.errors import InvalidInput
from hivemind.models import DeploymentPlan
from hivemind.planning.plan import DB_ENGINE_VERSIONS, make_plan, stack_name

from ._support import cert_arn, make_stack


@pytest.mark.parametrize(
    ("language", "preset", "instance_type"),
    [
        ("go", "stage-1", "t4g.micro"),
        ("python", "stage-1", "t4g.small"),
        ("node", "stage-1", "t4g.small"),
        ("go", "production", "t4g.small"),
        ("python", "production", "t4g.medium"),
        ("node", "production", "t4g.medium"),
    ],
)
def test_instance_type_by_language_and_preset(language: str, preset: str, instance_type: str) -> None:
    plan = make_plan(make_stack(language), deployment_id="d1", app_name="demo", preset=preset)
    assert plan.instance_type == instance_type
    assert plan.instance_type.startswith("t4g.")  # arm64, matching the AL2023 arm64 AMI


def test_stage_1_is_one_instance_in_one_az_without_nat() -> None:
    plan = make_plan(make_stack(), deployment_id="d1", app_name="demo")
    assert (plan.min_size, plan.max_size, plan.desired_capacity) == (1, 1, 1)
    assert plan.availability_zones == 1
    assert plan.nat_gateway is False
    assert plan.load_balancer is True


def test_production_scales_across_two_azs() -> None:
    plan = make_plan(make_stack(), deployment_id="d1", app_name="demo", preset="production")
    assert (plan.min_size, plan.max_size, plan.desired_capacity) == (2, 4, 2)
    assert plan.availability_zones == 2
    assert plan.nat_gateway is True


def test_stack_name_and_port_and_health_path_come_from_inputs() -> None:
    stack = make_stack("node", port=3000, health_path="/healthz")
    plan = make_plan(stack, deployment_id="abc-123", app_name="shop")
    assert plan.stack_name == "hm-abc-123" == stack_name("abc-123")
    assert plan.port == 3000
    assert plan.health_path == "/healthz"
    assert plan.stack == stack


@pytest.mark.parametrize("engine", ["postgres", "mysql"])
def test_managed_database_for_postgres_and_mysql(engine: str) -> None:
    stage = make_plan(make_stack(database=engine), deployment_id="d1", app_name="demo")
    prod = make_plan(make_stack(database=engine), deployment_id="d1", app_name="demo", preset="production")
    assert stage.database is not None and prod.database is not None
    assert stage.database.engine == prod.database.engine == engine
    assert stage.database.engine_version == DB_ENGINE_VERSIONS[engine]
    assert stage.database.multi_az is False and prod.database.multi_az is True
    assert prod.database.backup_retention_days >= 7
    assert stage.database.backup_retention_days >= 1
    assert stage.warnings == []
    # RDS creation is slow: the stack wait bound grows with it.
    assert prod.timeouts.stack_polls > stage.timeouts.stack_polls
    no_db = make_plan(make_stack(), deployment_id="d1", app_name="demo")
    assert stage.timeouts.stack_polls > no_db.timeouts.stack_polls


@pytest.mark.parametrize("engine", ["mongodb", "redis"])
def test_unmanaged_engines_give_no_database_but_a_warning(engine: str) -> None:
    plan = make_plan(make_stack(database=engine), deployment_id="d1", app_name="demo")
    assert plan.database is None
    assert len(plan.warnings) == 1
    assert engine in plan.warnings[0]


def test_no_database_detected_means_none() -> None:
    plan = make_plan(make_stack(), deployment_id="d1", app_name="demo")
    assert plan.database is None
    assert plan.warnings == []


def test_sqlite_warns_that_data_is_not_kept() -> None:
    plan = make_plan(make_stack(embedded_database="sqlite"), deployment_id="d1", app_name="demo")
    assert plan.database is None
    assert any("SQLite" in w for w in plan.warnings)


def test_https_with_certificate_and_domain() -> None:
    plan = make_plan(
        make_stack(), deployment_id="d1", app_name="demo", region="eu-west-1",
        domain_name="app.example.com", certificate_arn=cert_arn("eu-west-1"),
    )
    assert plan.https is True
    assert plan.domain_name == "app.example.com"
    assert plan.certificate_arn == cert_arn("eu-west-1")


def test_domain_without_certificate_is_http_with_a_warning() -> None:
    plan = make_plan(make_stack(), deployment_id="d1", app_name="demo", domain_name="app.example.com")
    assert plan.https is False
    assert any("app.example.com" in w and "certificate" in w for w in plan.warnings)


def test_plan_round_trips_through_json() -> None:
    plan = make_plan(make_stack("go", database="mysql"), deployment_id="d1", app_name="demo", preset="production")
    assert DeploymentPlan.model_validate_json(plan.model_dump_json()) == plan


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deployment_id", ""),
        ("deployment_id", "Upper"),
        ("deployment_id", "under_score"),
        ("deployment_id", "-leading"),
        ("deployment_id", "trailing-"),
        ("deployment_id", "a" * 41),
        ("deployment_id", "semi;colon"),
        ("app_name", "My App"),
        ("app_name", "x" * 41),
        ("app_name", "$(reboot)"),
    ],
)
def test_bad_names_are_rejected(field: str, value: str) -> None:
    kwargs = {"deployment_id": "d1", "app_name": "demo", field: value}
    with pytest.raises(InvalidInput) as err:
        make_plan(make_stack(), **kwargs)
    what = field.replace("_", " ")
    assert what in str(err.value)
    assert repr(value) in str(err.value)
    assert err.value.remediation


def test_longest_allowed_names_are_accepted() -> None:
    plan = make_plan(make_stack(), deployment_id="a" * 40, app_name="b" * 40)
    assert plan.stack_name == "hm-" + "a" * 40


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"preset": "large"}, "unknown preset 'large'"),
        ({"region": "mars-1"}, "invalid AWS region 'mars-1'"),
        ({"region": "US-EAST-1"}, "invalid AWS region"),
        ({"domain_name": "http://app.example.com/"}, "invalid domain name"),
        ({"certificate_arn": "arn:aws:acm:us-east-1:1:certificate/x", "domain_name": "a.example.com"},
         "invalid ACM certificate ARN"),
        ({"certificate_arn": cert_arn("eu-west-1"), "domain_name": "a.example.com"},
         "the certificate is in eu-west-1 but the deployment is in us-east-1"),
        ({"certificate_arn": cert_arn("us-east-1")}, "certificate was given without a domain name"),
    ],
)
def test_bad_options_are_rejected(kwargs: dict[str, str], needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        make_plan(make_stack(), deployment_id="d1", app_name="demo", **kwargs)
    assert needle in str(err.value)
    assert err.value.stage == "plan"


def test_ssh_port_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        make_plan(make_stack(port=22), deployment_id="d1", app_name="demo")
    assert "22" in str(err.value)
    assert "PORT" in err.value.remediation


@pytest.mark.parametrize("path", ["health", "/with space", "/" + "a" * 1024, "/quote'", "/$(id)", "/a;b", "/new\nline"])
def test_bad_health_path_is_refused(path: str) -> None:
    with pytest.raises(InvalidInput) as err:
        make_plan(make_stack(health_path=path), deployment_id="d1", app_name="demo")
    assert "health check path" in str(err.value)
