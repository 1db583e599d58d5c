"""AWS throttled the calls (or a transient error outlived its retries)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_TYPES, some


def extract(lines: list[str]) -> Facts:
    """The AWS error code when the text has one, else the plain words."""
    return some(code=first_group(r"\b(Throttling(?:Exception)?|TooManyRequests(?:Exception)?|RequestLimitExceeded|"
                                 r"ProvisionedThroughputExceeded(?:Exception)?|SlowDown)\b", lines, flags=0)
                or first_group(r"\b(Rate exceeded)\b", lines))


RULE = Rule(
    id="throttled",
    title="AWS throttled the requests",
    stages=(),
    # Globs: Step Functions prefixes a Lambda service error (``Lambda.TooManyRequestsException``).
    signatures=("TransientError", "*Throttling", "*ThrottlingException", "*TooManyRequestsException",
                "*RequestLimitExceeded", "*ProvisionedThroughputExceededException", "SlowDown"),
    weak_signatures=(*STACK_TYPES, "CommandFailed", "States.TaskFailed"),
    patterns=(r"\bThrottl(ing|ed)\b", r"ThrottlingException", r"TooManyRequests", r"Rate exceeded",
              r"RequestLimitExceeded", r"ProvisionedThroughputExceeded", r"\bSlowDown\b"),
    remediation=(
        "AWS kept throttling after the automatic retries: wait a few minutes and `hivemind retry <id>`. If it "
        "happens often, fewer deployments at once help, or a quota increase for the API named in the evidence."
    ),
    priority=600,
    extract=extract,
)
