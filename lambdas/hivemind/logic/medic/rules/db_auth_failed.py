"""The database refused the app's credentials."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import APP_STAGES, APP_SYMPTOMS, some


def extract(lines: list[str]) -> Facts:
    return some(user=first_group(r"for user \"([^\"]+)\"", lines) or first_group(r"Access denied for user '([^']+)'", lines))


RULE = Rule(
    id="db-auth-failed",
    title="the database rejected the app's credentials",
    stages=APP_STAGES,
    signatures=(),
    weak_signatures=(*APP_SYMPTOMS, "CommandFailed", "HealthCheckFailed"),
    patterns=(
        r"password authentication failed for user",
        r"Access denied for user '",
        r"role \"[^\"]+\" does not exist",
        r"no pg_hba\.conf entry for",
        r"(SASL|SCRAM).*authentication failed",
    ),
    remediation=(
        "Use the credentials HiveMind provides: read the database URL from DATABASE_URL (built from the stack's "
        "DB secret) instead of a user/password written in the code or an .env file in the repository; then redeploy."
    ),
    priority=51,
    extract=extract,
)
