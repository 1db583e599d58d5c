"""EventBridge: every stage change is an event on the ``hivemind`` bus. No secrets in details."""

from __future__ import annotations

import json
from typing import Any

from hivemind import constants
from hivemind.adapters.aws import client


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, detail_type: str, detail: dict[str, Any]) -> None:
        resp = client("events").put_events(
            Entries=[
                {
                    "Source": constants.EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self.bus_name,
                }
            ]
        )
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge rejected {detail_type!r}: {resp['Entries']}")
