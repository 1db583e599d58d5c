"""The instance could not download or unpack the release."""

from __future__ import annotations

from hivemind.logic.medic.rule import Rule

RULE = Rule(
    id="fetch-failed",
    title="the instance could not fetch the release",
    stages=("deploy", "update"),
    signatures=("fetch_failed",),
    patterns=(r"could not download", r"is not a gzip tarball", r"could not (read|unpack)", r"AccessDenied",
              r"NoSuchKey", r"\(403\)|\(404\)"),
    remediation=(
        "Check the instance role may s3:GetObject the artifacts bucket's releases/ prefix and that the release "
        "object exists (`hivemind status <id>` shows its key); then `hivemind retry <id>`."
    ),
    priority=130,
    text_match=False,
)
