"""The app process exited right after it started (a crash at import or start-up)."""

from __future__ import annotations

import re

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some

# The line that names the exception: the last one wins (a traceback ends with it). Case-sensitive,
# so the script's own HIVEMIND_ERROR lines are not taken for it.
EXCEPTION = re.compile(r"^((?:[A-Za-z_][\w.]*(?:Error|Exception)|panic|Error|fatal error)\b:? .+)$")


def extract(lines: list[str]) -> Facts:
    errors = [m.group(1) for line in lines if (m := EXCEPTION.match(line)) and not line.startswith("HIVEMIND_")]
    return some(error=errors[-1] if errors else None, exit_status=first_group(r"exited with status (\d+)", lines))


RULE = Rule(
    id="app-exited",
    title="the app exited right after it started",
    stages=("deploy", "update"),
    signatures=("app_exited",),
    patterns=(
        r"Traceback \(most recent call last\)",
        r"^[A-Za-z_][\w.]*(Error|Exception)\b:? ",
        r"^panic: ",
        r"^(Uncaught )?Error: ",
        r"^fatal error: ",
        r"exited with (status|code) \d+",
        r"Segmentation fault",
    ),
    remediation=(
        "Run the start command locally with PORT set (e.g. `PORT=8000 <start command>`) and fix the error the "
        "evidence shows: usually a missing environment variable, a configuration file not in the repository, "
        "or an exception at import time. Then redeploy."
    ),
    priority=150,
    text_match=False,  # a traceback alone is not enough: many failures print one
    extract=extract,
)
