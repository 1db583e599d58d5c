"""stacks.permissions: the guard rails of the permission table."""

from __future__ import annotations

import pytest

from stacks.permissions import TASK_CAPABILITIES, Targets, statements_for, unscopable

TARGETS = Targets(table_arn="arn:table", idempotency_table_arn="arn:idem", bus_arn="arn:bus",
                  bucket_arn="arn:bucket", cfn_role_arn="arn:cfn-role", cleanup_role_arn="arn:cleanup-role")


def test_unscopable_refuses_actions_not_on_the_list() -> None:
    with pytest.raises(ValueError, match="UNSCOPABLE_ACTIONS"):
        unscopable("tag:GetResources", "s3:GetObject")


def test_statements_for_an_unknown_task_names_the_table() -> None:
    with pytest.raises(KeyError, match="TASK_CAPABILITIES"):
        statements_for("no-such-task", TARGETS)


@pytest.mark.parametrize("task", sorted(TASK_CAPABILITIES))
def test_every_row_builds(task: str) -> None:
    statements = statements_for(task, TARGETS)
    assert statements
    assert all(s.to_statement_json()["Effect"] == "Allow" for s in statements)
