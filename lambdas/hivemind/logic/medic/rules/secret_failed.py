"""The instance could not read the database secret."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="secret-failed",
    title="the instance could not read the database secret",
    stages=("deploy", "update"),
    signatures=("secret_failed",),
    patterns=(r"database secret", r"ResourceNotFoundException", r"AccessDeniedException", r"GetSecretValue"),
    remediation=(
        "Check the instance role may secretsmanager:GetSecretValue the stack's DB secret and that the secret "
        "still exists (stack output DbSecretArn); then `hivemind retry <id>`."
    ),
    priority=135,
    text_match=False,
)
