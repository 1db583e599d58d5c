"""A control-plane task crashed: an exception that is not one of HiveMind's error types."""

from __future__ import annotations

import re

from hivemind import errors
from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some
from hivemind.models import ErrorEntry

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def crashed(error: ErrorEntry) -> bool:
    """A plain exception class name (KeyError, ClientError...) that HiveMind does not define."""
    if not IDENTIFIER.match(error.type):
        return False
    cls = getattr(errors, error.type, None)
    return not (isinstance(cls, type) and issubclass(cls, errors.HiveMindError))


def extract(lines: list[str]) -> Facts:
    return some(exception=first_group(r"^([A-Za-z_][\w.]*(?:Error|Exception)\b:? .*)$", lines, flags=0))


RULE = Rule(
    id="task-crashed",
    title="a HiveMind task crashed",
    stages=(),
    signatures=("Lambda.Unknown", "Runtime.*", "Lambda.ServiceException", "Lambda.AWSLambdaException",
                "Lambda.SdkClientException", "States.Runtime"),
    weak_signatures=("States.TaskFailed", "UnknownError"),
    patterns=(r"Traceback \(most recent call last\)", r"Runtime\.\w+", r"\"errorType\""),
    remediation=(
        "A HiveMind task failed unexpectedly (a bug or an AWS error it does not handle). `hivemind retry <id>` "
        "resumes at the failed stage; if it repeats, report it with `hivemind logs <id>`."
    ),
    priority=900,  # the catch-all for foreign exception types: every more specific rule goes first
    text_match=False,
    applies=crashed,
    extract=extract,
)
