"""The adapter layer's list of AWS services is the one the local cloud warms: it must name them all."""

from __future__ import annotations

import re
from pathlib import Path

from hivemind.adapters import aws

ADAPTERS = Path(aws.__file__).parent
OPTIONAL = {"bedrock-runtime"}  # the LLM reading: off by default, never warmed


def test_services_names_every_client_the_adapters_create() -> None:
    used = set()
    for source in ADAPTERS.glob("*.py"):
        used |= set(re.findall(r'client\(\s*"([a-z0-9-]+)"', source.read_text()))
    assert used, "no client() call found: the pattern no longer matches the adapters"
    assert used - OPTIONAL <= set(aws.SERVICES), f"missing from aws.SERVICES: {sorted(used - OPTIONAL - set(aws.SERVICES))}"
    assert set(aws.SERVICES) <= used, f"in aws.SERVICES but never used: {sorted(set(aws.SERVICES) - used)}"
