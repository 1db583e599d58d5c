"""The hardening document reported findings it could not fix."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="hardening-failed",
    title="hardening the instance failed",
    stages=("harden",),
    signatures=("HardeningFailed", "hardening_failed"),
    patterns=(r"hardening_failed", r"\bFAIL\b", r"finding"),
    remediation=(
        "Read the hardening findings in the evidence: the app must not need what hardening turns off (SSH, "
        "world-writable files, extra open ports). Fix the app or its start command, then `hivemind retry <id>`."
    ),
    priority=420,
    text_match=False,
)
