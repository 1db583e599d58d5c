"""Deployment planning: the plan, the application's CloudFormation template and its cost.

Pure functions over pydantic models; nothing here calls AWS, so ``hivemind plan`` and the
Plan task of the state machine give the same answer offline and in Lambda.
"""

from hivemind.planning.cost import check_budget, estimate
from hivemind.planning.plan import make_plan
from hivemind.planning.template import build_template, resources_of, to_json

__all__ = ["build_template", "check_budget", "estimate", "make_plan", "resources_of", "to_json"]
