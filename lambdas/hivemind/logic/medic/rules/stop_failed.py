"""The app could not be stopped (stop-app.sh, run by rollback, destroy and a new release)."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="stop-failed",
    title="the app could not be stopped",
    stages=("deploy", "destroy", "rollback", "update"),
    signatures=("stop_failed",),
    patterns=(r"stop_failed", r"still running", r"could not (stop|kill)"),
    remediation=(
        "A process of the app survived the stop: it may ignore SIGTERM or run outside its process group. Make it "
        "exit on SIGTERM, then retry; `hivemind destroy <id>` terminates the instances in any case."
    ),
    priority=160,
    text_match=False,
)
