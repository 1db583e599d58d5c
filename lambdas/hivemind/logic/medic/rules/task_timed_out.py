"""A control-plane task (a Lambda function) ran out of time."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(seconds=first_group(r"timed out after ([\d.]+) seconds", lines))


RULE = Rule(
    id="task-timed-out",
    title="a HiveMind task ran out of time",
    stages=(),
    signatures=("States.Timeout", "Sandbox.Timedout", "States.HeartbeatTimeout", "Lambda.Timeout"),
    patterns=(r"Task timed out after", r"States\.Timeout", r"Sandbox\.Timedout"),
    remediation=(
        "A HiveMind task hit its time limit (slow AWS responses or a very large repository). "
        "`hivemind retry <id>` resumes at the failed stage; if it repeats, see `hivemind logs <id>` and report it."
    ),
    priority=610,
    extract=extract,
)
