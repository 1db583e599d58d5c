"""The deployment plan and its cost estimate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from hivemind.models.stack import TechStack

Preset = Literal["stage-1", "production"]


class DatabasePlan(BaseModel):
    engine: Literal["postgres", "mysql"]
    engine_version: str
    instance_class: str
    storage_gb: int = Field(ge=20)
    multi_az: bool = False
    backup_retention_days: int = Field(ge=0, le=35)


class Timeouts(BaseModel):
    """Bounds of every wait loop (issue: fail fast): polls x (interval + settings.settle_s) bounds the time."""

    poll_interval_s: int = Field(default=10, ge=1)
    stack_polls: int = Field(default=120, ge=1)  # 20 min at 10 s
    command_polls: int = Field(default=90, ge=1)  # 15 min
    health_polls: int = Field(default=30, ge=1)  # 5 min
    command_timeout_s: int = Field(default=900, ge=30)


class DeploymentPlan(BaseModel):
    deployment_id: str
    app_name: str
    preset: Preset
    region: str
    stack_name: str
    instance_type: str
    min_size: int = Field(ge=1)
    max_size: int = Field(ge=1)
    desired_capacity: int = Field(ge=1)
    availability_zones: int = Field(ge=1, le=3)
    load_balancer: bool = True
    port: int = Field(ge=1, le=65535)
    health_path: str = "/"
    database: DatabasePlan | None = None
    nat_gateway: bool = False
    https: bool = False
    domain_name: str | None = None
    certificate_arn: str | None = None
    timeouts: Timeouts = Field(default_factory=Timeouts)
    stack: TechStack
    warnings: list[str] = Field(
        default_factory=list, description="what the plan could not do for this app (e.g. no managed MongoDB)"
    )


class ResourceSummary(BaseModel):
    logical_id: str
    type: str


class CostLine(BaseModel):
    resource: str = Field(description="logical id or resource group the line prices")
    item: str = Field(description="what is priced, e.g. 't4g.small on-demand, 730 h'")
    quantity: float
    unit: str
    unit_price_usd: float
    monthly_usd: float


class CostEstimate(BaseModel):
    region: str
    currency: Literal["USD"] = "USD"
    monthly_usd: float
    lines: list[CostLine]
    price_source: str
    price_date: str
