"""A command argument or an install parameter was not valid."""

from __future__ import annotations

from hivemind import errors
from hivemind.logic.medic.rule import Rule
from hivemind.models import ErrorEntry


def is_invalid_input(error: ErrorEntry) -> bool:
    """InvalidInput and every subclass of it (InvalidRepositoryUrl, ...), by name."""
    cls = getattr(errors, error.type, None)
    return isinstance(cls, type) and issubclass(cls, errors.InvalidInput)


RULE = Rule(
    id="invalid-input",
    title="an argument was not valid",
    stages=("validate",),
    signatures=("InvalidInput", "invalid_argument"),
    patterns=(r"is not valid: expected", r"needs a value", r"unknown option"),
    remediation="Correct the argument named in the evidence (`hivemind --help` lists the accepted values) and run again.",
    priority=540,
    applies=is_invalid_input,
)
