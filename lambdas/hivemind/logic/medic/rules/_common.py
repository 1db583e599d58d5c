"""Shared pieces of the rules (this module defines no RULE; discovery skips '_' modules)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts

# Kinds that name a symptom of a broken app, not its cause: a rule that recognises the cause in
# the output (a missing module, a refused DB connection) claims them as weak signatures.
APP_SYMPTOMS: tuple[str, ...] = (
    "app_exited",
    "start_failed",
    "release_command_failed",
    "health_check_failed",
    "health_5xx",
    "no_healthy_targets",
    "health_timeout",
    "command_failed",
)
# Error types of a CloudFormation failure; their stack event reasons say why.
STACK_TYPES: tuple[str, ...] = ("StackFailed", "StackTimeout", "ClientError")
STACK_STAGES: tuple[str, ...] = ("provision", "destroy", "rollback", "update")
APP_STAGES: tuple[str, ...] = ("deploy", "verify", "update")


def some(**values: str | None) -> Facts:
    """The facts that were found (drops the ones that were not)."""
    return {k: v for k, v in values.items() if v}
