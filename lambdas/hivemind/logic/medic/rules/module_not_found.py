"""The app starts, then a module it imports is not installed (Python, Node.js, Go)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import APP_STAGES, APP_SYMPTOMS, some


def extract(lines: list[str]) -> Facts:
    return some(
        module=first_group(r"No module named '([^']+)'", lines)
        or first_group(r"Cannot find (?:module|package) '([^']+)'", lines)
        or first_group(r"(?:no required module provides|cannot find module providing) package ([^\s;:]+)", lines)
        or first_group(r"cannot find package \"([^\"]+)\"", lines)
    )


RULE = Rule(
    id="module-not-found",
    title="a module the app imports is not installed",
    stages=APP_STAGES,
    signatures=(),
    weak_signatures=(*APP_SYMPTOMS, "build_failed"),
    patterns=(
        r"ModuleNotFoundError",
        r"No module named",
        r"Cannot find module '[^'/.][^']*'",
        r"ERR_MODULE_NOT_FOUND",
        r"Cannot find package '",
        r"no required module provides package",
        r"cannot find module providing package",
        r"cannot find package \"",
    ),
    remediation=(
        "Add the module named in the evidence to the app's dependencies (requirements.txt / pyproject.toml, "
        "package.json `dependencies` - not devDependencies -, or `go get` it into go.mod), or fix the import "
        "if the name is misspelled; then redeploy."
    ),
    priority=30,
    extract=extract,
)
