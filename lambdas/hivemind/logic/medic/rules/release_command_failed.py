"""The release command (migrations, asset collection) failed before the new release started."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(command=first_group(r"the release command failed: (.+)$", lines))


RULE = Rule(
    id="release-command-failed",
    title="the release command failed",
    stages=("deploy", "update"),
    signatures=("release_command_failed",),
    patterns=(r"the release command failed", r"migrat\w+", r"^\w*(Error|Exception)\b:? ", r"Traceback"),
    remediation=(
        "Run the release command (Procfile `release:`) locally against a copy of the database and fix the "
        "error in the evidence; the previous release keeps serving until it succeeds."
    ),
    priority=140,
    text_match=False,
    extract=extract,
)
