"""Idempotency for tasks whose side effects a retry must not repeat (deploy, harden).

Powertools' ``@idempotent_function`` keyed on the task input (execution id + poll counter): a
retried invocation returns the first result instead of sending a second SSM command.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

from hivemind.settings import get_settings


def idempotency() -> tuple[DynamoDBPersistenceLayer, IdempotencyConfig]:
    settings = get_settings()
    return (
        DynamoDBPersistenceLayer(table_name=settings.idempotency_table_name),
        IdempotencyConfig(expires_after_seconds=3600, raise_on_no_idempotency_key=True),
    )
