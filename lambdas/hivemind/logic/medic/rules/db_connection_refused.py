"""The app cannot reach its database: the connection is refused or the host does not resolve."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import APP_STAGES, APP_SYMPTOMS, some


def extract(lines: list[str]) -> Facts:
    return some(
        host=first_group(r"connection to server at \"([^\"]+)\"", lines)
        or first_group(r"(?:ECONNREFUSED|dial tcp) \[?([\w.:-]+?)\]?:(?:5432|3306)\b", lines),
        port=first_group(r"\bport (\d+) failed", lines) or first_group(r":(5432|3306)\b", lines),
    )


RULE = Rule(
    id="db-connection-refused",
    title="the app cannot connect to its database",
    stages=APP_STAGES,
    signatures=(),
    weak_signatures=(*APP_SYMPTOMS, "CommandFailed", "HealthCheckFailed"),
    patterns=(
        r"connection to server at .* failed: Connection refused",
        r"could not connect to server: Connection refused",
        r"Is the server running on (that host|host) and accepting",
        r"(ECONNREFUSED|connection refused)\s*\S*:(5432|3306)\b",
        r"dial tcp \S+:(5432|3306): connect: connection refused",
        r"Can't connect to (MySQL|MariaDB) server",
        r"could not translate host name \S+ to address",
    ),
    remediation=(
        "The database did not accept the connection: check DATABASE_URL points at the stack's database "
        "(HiveMind sets it from the DB secret), that the database is available (`hivemind status <id>`) and "
        "that the app uses the port in the URL; a database that is still starting is fixed by `hivemind retry <id>`."
    ),
    priority=50,
    extract=extract,
)
