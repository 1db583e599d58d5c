"""The start command cannot run: npm "Missing script", no entry file, no such program."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import APP_STAGES, APP_SYMPTOMS, some


def extract(lines: list[str]) -> Facts:
    return some(
        script=first_group(r"Missing script: \"?([\w:.-]+)", lines),
        entry_point=first_group(r"can't open file '([^']+)'", lines)
        or first_group(r"Cannot find module '((?:/|\./|\.\./)[^']*)'", lines)
        or first_group(r"Failed to find attribute '(\w+)'", lines),
        program=first_group(r"(?:exec: )?([\w.-]+): (?:command )?not found", lines),
    )


RULE = Rule(
    id="missing-start-script",
    title="the app's start command has nothing to run",
    stages=APP_STAGES,
    signatures=(),
    weak_signatures=APP_SYMPTOMS,
    patterns=(
        r"Missing script: \"?start",
        r"npm (ERR!|error) missing script",
        r"can't open file .*\[Errno 2\] No such file or directory",
        r"Cannot find module '(/|\./|\.\./)[^']*'",
        r"Failed to find attribute '\w+' in '[\w.]+'",
        r"(exec: )?[\w.-]+: (command )?not found$",
        r"no Go files in",
        r"is not a main package",
        r"no start command",
    ),
    remediation=(
        "Give the app a start command: a `start` script in package.json, a Procfile `web:` line, or an entry "
        "file that exists in the repository (app.py, main.go, server.js). If the evidence names a program "
        "(gunicorn, uvicorn), add its package to the app's dependencies."
    ),
    priority=20,
    extract=extract,
)
