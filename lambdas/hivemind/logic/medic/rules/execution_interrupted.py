"""The execution stopped because the control plane went away (e.g. the local cloud was killed)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(stage=first_group(r"(?:interrupted|stopped) (?:at|in|during) (?:stage )?(\w+)", lines))


RULE = Rule(
    id="execution-interrupted",
    title="the execution was interrupted when the control plane stopped",
    stages=(),
    signatures=("ExecutionInterrupted", "execution_interrupted"),
    patterns=(r"control plane (went away|stopped|restarted)", r"execution (was )?interrupted"),
    remediation=(
        "Nothing is wrong with the app: the control plane stopped mid-deploy. Start it again "
        "(`hivemind local up` for the local cloud) and `hivemind retry <id>` to resume at the interrupted stage, "
        "or `hivemind destroy <id>`."
    ),
    priority=620,
    extract=extract,
)
