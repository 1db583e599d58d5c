"""Turn what the analysis found (a TechStack) into a DeploymentPlan: sizes, counts and options.

The plan holds every decision the template and the cost estimate need, so both are pure functions
of it and a what-if run shows exactly what a deploy would create.
"""

from __future__ import annotations

import re
from typing import Any

from hivemind.errors import InvalidInput
from hivemind.models import DatabasePlan, DeploymentPlan, TechStack, Timeouts

PRESETS: tuple[str, ...] = ("stage-1", "production")

# Graviton (arm64) burstable instances: the cheapest that build and run each toolchain comfortably.
# Go builds a static binary (small footprint); Node and Python builds (npm/pip installs) need ~2 GiB.
INSTANCE_TYPES: dict[tuple[str, str], str] = {
    ("stage-1", "go"): "t4g.micro",
    ("stage-1", "python"): "t4g.small",
    ("stage-1", "node"): "t4g.small",
    ("production", "go"): "t4g.small",
    ("production", "python"): "t4g.medium",
    ("production", "node"): "t4g.medium",
}

# Instance counts per preset: (min, max, desired, availability zones).
CAPACITY: dict[str, tuple[int, int, int, int]] = {
    "stage-1": (1, 1, 1, 1),
    "production": (2, 4, 2, 2),
}

# Managed database engine versions. Pinned to a minor version that cfn-lint's RDS data lists as
# current (a bare major such as "17" is flagged as deprecated); AutoMinorVersionUpgrade keeps it patched.
DB_ENGINE_VERSIONS: dict[str, str] = {"postgres": "17.6", "mysql": "8.4.6"}

# Per preset: (instance class, storage GB, backup retention days, Multi-AZ).
DB_SIZES: dict[str, tuple[str, int, int, bool]] = {
    "stage-1": ("db.t4g.micro", 20, 1, False),
    "production": ("db.t4g.small", 50, 7, True),
}

# Stack wait bound: RDS creation dominates (Multi-AZ takes longest). Polls x 10 s.
STACK_POLLS_NO_DB = 120  # 20 min
STACK_POLLS_DB = 240  # 40 min
STACK_POLLS_DB_MULTI_AZ = 360  # 60 min

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
NAME_MAX = 40
REGION_RE = re.compile(r"^[a-z]{2}(?:-gov)?-[a-z]+-\d{1,2}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CERT_ARN_RE = re.compile(
    r"^arn:aws(?:-[a-z]+)*:acm:(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d{1,2}):\d{12}:certificate/[0-9a-f-]{36}$"
)
# The ALB accepts health check paths up to 1024 characters. Allow URL characters but none that a
# shell treats specially besides '&' and '?' ($ ' " ( ) * ; ! ` space), since the on-instance
# health check also uses the path.
HEALTH_PATH_RE = re.compile(r"^/[A-Za-z0-9._~%/?=&+:@,-]{0,1023}$")
FORBIDDEN_PORTS = {22: "22 is the SSH port, which HiveMind never opens"}


def make_plan(
    stack: TechStack,
    *,
    deployment_id: str,
    app_name: str,
    preset: str = "stage-1",
    region: str = "us-east-1",
    domain_name: str | None = None,
    certificate_arn: str | None = None,
) -> DeploymentPlan:
    """Decide sizes and options for one deployment; raise InvalidInput naming any bad argument."""
    _check_name("deployment id", deployment_id)
    _check_name("app name", app_name)
    _check_preset(preset)
    _check_region(region)
    _check_port(stack.port)
    _check_health_path(stack.health_path)
    https, warnings = _check_https(domain_name, certificate_arn, region)
    warnings = warnings + _database_warnings(stack)

    min_size, max_size, desired, azs = CAPACITY[preset]
    database = _database_plan(stack, preset)
    return DeploymentPlan(
        deployment_id=deployment_id,
        app_name=app_name,
        preset=preset,  # type: ignore[arg-type]  # checked by _check_preset
        region=region,
        stack_name=stack_name(deployment_id),
        instance_type=INSTANCE_TYPES[(preset, stack.language)],
        min_size=min_size,
        max_size=max_size,
        desired_capacity=desired,
        availability_zones=azs,
        load_balancer=True,
        port=stack.port,
        health_path=stack.health_path,
        database=database,
        # Production keeps instances in private subnets, so they reach the internet through a NAT
        # gateway; stage-1 saves its cost (instances get a public IP, their SG admits only the ALB).
        nat_gateway=preset == "production",
        https=https,
        domain_name=domain_name,
        certificate_arn=certificate_arn,
        timeouts=_timeouts(database),
        stack=stack,
        warnings=warnings,
    )


def stack_name(deployment_id: str) -> str:
    """CloudFormation stack name of a deployment (the sweep and destroy find stacks by it)."""
    return f"hm-{deployment_id}"


# --- validation --------------------------------------------------------------------------------
def _check_name(what: str, value: Any) -> None:
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise InvalidInput(
            f"invalid {what} {value!r}: use 1-{NAME_MAX} lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit",
            remediation=f"Pass a {what} such as 'my-app-1' (it becomes part of AWS resource names).",
            stage="plan",
            context={"field": what, "value": str(value)},
        )


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise InvalidInput(
            f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}",
            remediation="Use --preset stage-1 (one instance, lowest cost) or --preset production.",
            stage="plan",
            context={"preset": str(preset)},
        )


def _check_region(region: str) -> None:
    if not isinstance(region, str) or not REGION_RE.fullmatch(region):
        raise InvalidInput(
            f"invalid AWS region {region!r}",
            remediation="Pass a region code such as us-east-1 or eu-west-1 (--region).",
            stage="plan",
            context={"region": str(region)},
        )


def _check_port(port: int) -> None:
    if port in FORBIDDEN_PORTS:
        raise InvalidInput(
            f"the app listens on port {port}; {FORBIDDEN_PORTS[port]}",
            remediation="Make the app listen on $PORT (HiveMind sets it) or on another port such as 8080.",
            stage="plan",
            context={"port": port},
        )


def _check_health_path(path: str) -> None:
    if not HEALTH_PATH_RE.fullmatch(path):
        raise InvalidInput(
            f"invalid health check path {path!r}: it must start with '/' and contain only URL characters "
            "(at most 1024)",
            remediation="Use a path such as /health or / that answers 2xx or 3xx.",
            stage="plan",
            context={"health_path": path},
        )


def _check_https(domain_name: str | None, certificate_arn: str | None, region: str) -> tuple[bool, list[str]]:
    """HTTPS needs both a certificate (for the listener) and the domain it was issued for (for the URL)."""
    warnings: list[str] = []
    if domain_name is not None and not DOMAIN_RE.fullmatch(domain_name):
        raise InvalidInput(
            f"invalid domain name {domain_name!r}",
            remediation="Pass a lowercase host name such as app.example.com (no scheme, no path).",
            stage="plan",
            context={"domain_name": domain_name},
        )
    if certificate_arn is None:
        if domain_name is not None:
            warnings.append(
                f"domain {domain_name} given without a certificate: the app is served over HTTP at the "
                "load balancer's DNS name; pass --certificate-arn (ACM, same region) to serve HTTPS on it"
            )
        return False, warnings
    match = CERT_ARN_RE.fullmatch(certificate_arn)
    if not match:
        raise InvalidInput(
            f"invalid ACM certificate ARN {certificate_arn!r}",
            remediation="Pass an ARN like arn:aws:acm:us-east-1:123456789012:certificate/<uuid>.",
            stage="plan",
            context={"certificate_arn": certificate_arn},
        )
    if match["region"] != region:
        raise InvalidInput(
            f"the certificate is in {match['region']} but the deployment is in {region}; a load balancer "
            "can only use a certificate from its own region",
            remediation=f"Request or import the certificate in {region} with ACM, or deploy to {match['region']}.",
            stage="plan",
            context={"certificate_arn": certificate_arn, "region": region},
        )
    if domain_name is None:
        raise InvalidInput(
            "a certificate was given without a domain name; the URL must use the name the certificate covers",
            remediation="Pass --domain with the host name the certificate was issued for.",
            stage="plan",
            context={"certificate_arn": certificate_arn},
        )
    return True, warnings


# --- decisions ---------------------------------------------------------------------------------
def _database_plan(stack: TechStack, preset: str) -> DatabasePlan | None:
    """A managed RDS instance only for the engines RDS offers (postgres, mysql)."""
    if stack.database not in DB_ENGINE_VERSIONS:
        return None
    instance_class, storage_gb, backups, multi_az = DB_SIZES[preset]
    return DatabasePlan(
        engine=stack.database,  # type: ignore[arg-type]  # narrowed by the check above
        engine_version=DB_ENGINE_VERSIONS[stack.database],  # type: ignore[index]
        instance_class=instance_class,
        storage_gb=storage_gb,
        multi_az=multi_az,
        backup_retention_days=backups,
    )


def _database_warnings(stack: TechStack) -> list[str]:
    warnings: list[str] = []
    if stack.database in ("mongodb", "redis"):
        warnings.append(
            f"the app uses {stack.database}, which this version of HiveMind does not provision; "
            f"set its connection URL as an app environment variable pointing at a {stack.database} "
            "you run elsewhere"
        )
    if stack.embedded_database == "sqlite":
        warnings.append(
            "the app uses SQLite: its data lives on the instance's disk and is lost when the Auto Scaling "
            "group replaces the instance; use postgres or mysql for data you want to keep"
        )
    return warnings


def _timeouts(database: DatabasePlan | None) -> Timeouts:
    if database is None:
        polls = STACK_POLLS_NO_DB
    elif database.multi_az:
        polls = STACK_POLLS_DB_MULTI_AZ
    else:
        polls = STACK_POLLS_DB
    return Timeouts(stack_polls=polls)
