"""Pydantic models shared by every layer."""

from hivemind.models.diagnosis import Diagnosis
from hivemind.models.plan import (
    CostEstimate,
    CostLine,
    DatabasePlan,
    DeploymentPlan,
    ResourceSummary,
    Timeouts,
)
from hivemind.models.stack import Finding, TechStack
from hivemind.models.state import (
    TRANSITIONS,
    DeploymentState,
    DeploymentStatus,
    ErrorEntry,
    LogEntry,
    Release,
    ResourceInfo,
    Stage,
)

__all__ = [
    "TRANSITIONS",
    "CostEstimate",
    "CostLine",
    "DatabasePlan",
    "DeploymentPlan",
    "DeploymentState",
    "Diagnosis",
    "DeploymentStatus",
    "ErrorEntry",
    "Finding",
    "LogEntry",
    "Release",
    "ResourceInfo",
    "ResourceSummary",
    "Stage",
    "TechStack",
    "Timeouts",
]
