"""The app listens on another port than the planned one; fixable: use the port it listens on."""

from __future__ import annotations

from typing import Any

from hivemind.logic.medic.rule import Facts, Rule, first_group
from hivemind.logic.medic.rules._common import some
from hivemind.planning.plan import FORBIDDEN_PORTS


def extract(lines: list[str]) -> Facts:
    return some(
        listening_port=first_group(r"listens on \S*?:(\d+)(?=[\s,]|$)", lines)
        or first_group(r"Running on https?://[\w.\[\]:-]*?:(\d+)", lines),
        expected_port=first_group(r"not on port (\d+)", lines),
    )


def fix(facts: Facts) -> dict[str, Any] | None:
    """Use the port the app really listens on, when the evidence shows one that can be used."""
    raw = facts.get("listening_port")
    if raw is None or not str(raw).isdigit():
        return None
    port = int(raw)
    if not 1 <= port <= 65535 or port in FORBIDDEN_PORTS or str(port) == str(facts.get("expected_port")):
        return None
    return {"kind": "set_port", "port": port}


RULE = Rule(
    id="wrong-port",
    title="the app listens on a different port than planned",
    stages=("deploy", "update"),
    signatures=("port_mismatch",),
    patterns=(r"listens on \S+, not on port \d+", r"not on port \d+", r"Running on https?://\S+:\d+"),
    remediation=(
        "Make the app listen on the port in the PORT environment variable (e.g. `port = int(os.environ['PORT'])`). "
        "HiveMind can instead use the port the app listens on: `hivemind retry <id> --fix`."
    ),
    fixable=True,
    fix=fix,
    priority=120,
    text_match=False,
    extract=extract,
)
