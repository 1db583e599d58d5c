"""The build command (go build, npm run build, ...) failed."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(
        first_error=first_group(r"^((?:\./)?\S+\.(?:go|ts|tsx|js|jsx|py):\d+(?::\d+)?:? .+)$", lines)
        or first_group(r"^((?:error TS\d+|SyntaxError|ERROR in ).+)$", lines),
        command=first_group(r"the build command failed: (.+)$", lines),
    )


RULE = Rule(
    id="build-failed",
    title="the app's build failed",
    stages=("deploy", "update"),
    signatures=("build_failed",),
    patterns=(
        r"the build command failed",
        r"\.go:\d+:\d+: ",
        r"error TS\d+",
        r"SyntaxError",
        r"^ERROR in ",
        r"npm (ERR!|error) (code ELIFECYCLE|Lifecycle script|command failed)",
        r"app directory '.*' is not in release",
    ),
    remediation=(
        "Run the build command shown in the evidence on a clean checkout of the same commit and fix the first "
        "error it reports (compile errors, a missing build tool, a wrong app directory); then redeploy."
    ),
    priority=110,
    text_match=False,  # the compiler lines alone also appear in other failures; the kind decides
    extract=extract,
)
