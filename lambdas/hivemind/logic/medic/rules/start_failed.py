"""The app could not be started at all (supervisor or systemd unit failed, a runtime is missing)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="start-failed",
    title="the app could not be started",
    stages=("deploy", "update"),
    signatures=("start_failed",),
    patterns=(r"supervisor did not start", r"systemctl \S+ \S+ failed", r"is not installed on this instance",
              r"another install of \S+ is still running"),
    remediation=(
        "Read the evidence: a runtime missing on the instance image, a systemd unit that does not start, or "
        "another install still running (wait for it). Then `hivemind retry <id>`."
    ),
    priority=145,
    text_match=False,
)
