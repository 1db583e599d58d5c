"""The ports logic depends on, and a cached factory that builds the real adapters from settings."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hivemind.settings import Settings, get_settings


@dataclass
class Ports:
    settings: Settings
    store: Any  # DynamoStateStore
    events: Any  # EventBridgePublisher
    objects: Any  # S3ObjectStore
    stacks: Any  # CloudFormationStacks
    commands: Any  # SsmCommands
    fleet: Any  # Fleet
    probe: Any  # HttpProbe
    repos: Any  # hivemind.adapters.repositories (module)
    tagged: Any  # TaggedResources
    extra: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic  # the wait loops' settle (logic.common.settle)
    sleep: Callable[[float], None] = time.sleep


@lru_cache(maxsize=1)
def default_ports() -> Ports:
    """Real adapters. Imported lazily so a handler's cold start pays only for what it uses."""
    from hivemind.adapters import repositories
    from hivemind.adapters.commands import SsmCommands
    from hivemind.adapters.databases import Databases
    from hivemind.adapters.events import EventBridgePublisher
    from hivemind.adapters.fleet import Fleet
    from hivemind.adapters.http_probe import HttpProbe
    from hivemind.adapters.objects import S3ObjectStore
    from hivemind.adapters.scheduler import CleanupScheduler
    from hivemind.adapters.stacks import CloudFormationStacks
    from hivemind.adapters.state_store import DynamoStateStore
    from hivemind.adapters.tagging import TaggedResources
    from hivemind.adapters.workflows import StepFunctions

    settings = get_settings()
    extra: dict[str, Any] = {}
    if settings.llm_diagnosis:  # optional, off by default: nothing depends on it
        from hivemind.adapters.llm import BedrockDiagnoser

        extra["llm"] = BedrockDiagnoser(settings.llm_model_id)
    return Ports(
        settings=settings,
        store=DynamoStateStore(settings.table_name),
        events=EventBridgePublisher(settings.event_bus_name),
        objects=S3ObjectStore(settings.artifacts_bucket),
        stacks=CloudFormationStacks(role_arn=settings.cfn_execution_role_arn),
        commands=SsmCommands(),
        fleet=Fleet(),
        probe=HttpProbe(),
        repos=repositories,
        tagged=TaggedResources(),
        extra={
            "workflows": StepFunctions(),
            "databases": Databases(),
            **extra,
            "scheduler": CleanupScheduler(settings.cleanup_schedule_group, settings.cleanup_role_arn,
                                          settings.destroy_state_machine_arn),
        },
    )
