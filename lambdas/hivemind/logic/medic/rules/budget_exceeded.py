"""The plan's estimated monthly cost is above the budget given."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(monthly_usd=first_group(r"estimated cost \$([\d.]+)", lines),
                budget_usd=first_group(r"above the budget \$([\d.]+)", lines))


RULE = Rule(
    id="budget-exceeded",
    title="the estimated cost is above the budget",
    stages=("plan",),
    signatures=("BudgetExceeded",),
    patterns=(r"above the budget", r"over budget"),
    remediation="Raise --budget, choose --preset stage-1, or drop the database (`hivemind plan <repo>` shows the lines).",
    priority=530,
    extract=extract,
)
