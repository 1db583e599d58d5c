"""The analysis found no Node.js, Python or Go web app it can deploy."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="unsupported-stack",
    title="HiveMind does not recognise a web app it can deploy",
    stages=("analyze",),
    signatures=("UnsupportedStack",),
    patterns=(r"unsupported (stack|language|runtime)", r"no (web )?entry point", r"HiveMind deploys Node\.js, Python and Go"),
    remediation=(
        "HiveMind deploys Node.js, Python and Go web apps: add a package.json, requirements.txt/pyproject.toml "
        "or go.mod with a web entry point, or a Procfile `web:` line (`hivemind analyze <repo>` shows what it found)."
    ),
    priority=520,
)
