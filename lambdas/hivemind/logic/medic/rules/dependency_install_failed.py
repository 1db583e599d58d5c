"""pip / npm / go could not install the app's dependencies; names the failing package."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some

PACKAGE_PATTERNS = (
    ("pip", r"No matching distribution found for (\S+)"),
    ("pip", r"Could not find a version that satisfies the requirement (\S+)"),
    ("pip", r"Failed to build (\S+)"),
    ("npm", r"The requested resource '([^']+)' could not be found"),
    ("npm", r"404 +'([^']+)' is not in (?:the npm|this) registry"),
    ("npm", r"No matching version found for (\S+?)\.?$"),
    ("npm", r"404 Not Found - GET \S+/((?:@[^/\s]+(?:/|%2f))?[^/\s]+)(?:\s|$)"),
    ("go", r"^go: (\S+@\S+?): (?:reading|invalid version|unknown revision|verifying)"),
    ("go", r"missing go\.sum entry for module providing package (\S+)"),
)


def extract(lines: list[str]) -> Facts:
    for manager, pattern in PACKAGE_PATTERNS:
        package = first_group(pattern, lines)
        if package:
            return some(package=package.replace("%2f", "/").replace("%2F", "/"), manager=manager)
    return {}


RULE = Rule(
    id="dependency-install-failed",
    title="installing the app's dependencies failed",
    stages=("deploy", "update"),
    signatures=("dependency_install_failed",),
    patterns=(
        r"No matching distribution found for",
        r"Could not find a version that satisfies the requirement",
        r"ResolutionImpossible",
        r"Failed to build \S+",
        r"npm (ERR!|error) (code )?(E404|ETARGET|ERESOLVE|E401|E403|EINTEGRITY)\b",
        r"npm (ERR!|error) 404 Not Found",
        r"npm (ERR!|error) 404 +'",
        r"The requested resource '[^']+' could not be found",
        r"No matching version found for",
        r"^go: \S+@\S+: (reading|invalid version|unknown revision|verifying)",
        r"missing go\.sum entry",
        r"could not install the dependencies",
    ),
    remediation=(
        "Fix the package named in the evidence in the app's manifest (requirements.txt / pyproject.toml, "
        "package.json and its lockfile, or go.mod): correct its name or version, make sure it is published "
        "for this platform (arm64 Linux), then redeploy. Reproduce with the same install command locally."
    ),
    priority=100,
    extract=extract,
)
