"""The repository, branch or commit cannot be read (not found, no access, empty)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some


def extract(lines: list[str]) -> Facts:
    return some(repository=first_group(r"repository '([^']+)'", lines), ref=first_group(r"ref(?:erence)? '([^']+)'", lines))


RULE = Rule(
    id="repository-unreachable",
    title="the repository or ref cannot be read",
    stages=("validate", "analyze"),
    signatures=("RepositoryNotFound", "RefNotFound", "EmptyRepository"),
    patterns=(r"Repository not found", r"could not read from remote repository", r"fatal: repository '.*' not found",
              r"does not appear to be a git repository", r"couldn't find remote ref", r"Remote branch \S+ not found"),
    remediation=(
        "Check the repository URL or path and --ref (`git ls-remote <repo>` must list it), that the credentials "
        "HiveMind uses can read it, and that it has at least one commit; then deploy again."
    ),
    priority=500,
    extract=extract,
)
