"""A stack or a named resource of it already exists (a leftover of an earlier deployment)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import STACK_STAGES, STACK_TYPES, some


def extract(lines: list[str]) -> Facts:
    return some(name=first_group(r"\[([^\]]+)\] already exists", lines) or first_group(r"([\w.:/-]+) already exists", lines))


RULE = Rule(
    id="stack-name-exists",
    title="a stack or resource with that name already exists",
    stages=STACK_STAGES,
    signatures=("AlreadyExistsException",),
    weak_signatures=STACK_TYPES,
    patterns=(r"\balready exists\b", r"AlreadyExists", r"AlreadyOwnedByYou"),
    remediation=(
        "A leftover with the same name is in the way: remove it (`hivemind destroy <old id>` or "
        "`hivemind orphans --delete`), or deploy under another name (`--stack-name`); then retry."
    ),
    priority=340,
    extract=extract,
)
