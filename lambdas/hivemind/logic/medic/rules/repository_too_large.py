"""The repository is larger than the size limit."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="repository-too-large",
    title="the repository is larger than the limit",
    stages=("validate", "analyze"),
    signatures=("RepositoryTooLarge",),
    patterns=(r"too large", r"larger than \d+"),
    remediation="Remove large binaries from the repository (Git LFS or S3) or raise --max-size-mb.",
    priority=505,
)
