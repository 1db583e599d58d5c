"""The state machine definitions in ``statemachine/*.asl.json`` and their ``${Placeholders}``.

CDK fills the placeholders with ``definition_substitutions``; the local cloud fills them with
``render``. Both use the same files and the same keys (``expected_placeholders``).
"""

from __future__ import annotations

import re
from pathlib import Path

from hivemind import constants

PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9]*)\}")
STATEMACHINE_DIR = Path(__file__).resolve().parents[2] / "statemachine"


def asl_path(workflow: str) -> Path:
    return STATEMACHINE_DIR / constants.WORKFLOWS[workflow]


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def expected_placeholders(workflow: str) -> set[str]:
    keys = {constants.placeholder(task) for task in constants.WORKFLOW_TASKS[workflow]}
    return keys | set(constants.WORKFLOW_EXTRA_PLACEHOLDERS[workflow])


def render(workflow: str, values: dict[str, str]) -> str:
    """Substitute every placeholder of the workflow's ASL; refuse missing or unknown keys."""
    text = asl_path(workflow).read_text()
    found = placeholders(text)
    if found != set(values):
        raise ValueError(
            f"{constants.WORKFLOWS[workflow]}: placeholders {sorted(found)} != values {sorted(values)}"
        )
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
