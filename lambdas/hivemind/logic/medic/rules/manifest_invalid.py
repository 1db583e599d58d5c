"""A manifest (package.json, pyproject.toml, go.mod...) could not be parsed."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(file=first_group(r"\b(package\.json|pyproject\.toml|go\.mod|requirements\.txt|Pipfile|Procfile)\b", lines))


RULE = Rule(
    id="manifest-invalid",
    title="a manifest of the app could not be parsed",
    stages=("analyze",),
    signatures=("ManifestError",),
    patterns=(r"(package\.json|pyproject\.toml|go\.mod|requirements\.txt|Pipfile)\S*:? .*(invalid|not valid|parse|"
              r"syntax|JSON|TOML)",),
    remediation="Fix the file named in the evidence so its own tool accepts it (`npm install`, `pip install .`, "
                "`go mod tidy`), commit, and deploy again.",
    priority=510,
    extract=extract,
)
