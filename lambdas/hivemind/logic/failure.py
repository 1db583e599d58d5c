"""The failure path: record the error (with a remediation), diagnose it, roll back or hold."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from hivemind import constants, errors
from hivemind.logic.common import log
from hivemind.logic.ports import Ports
from hivemind.models import DeploymentState, DeploymentStatus, ErrorEntry
from hivemind.models.diagnosis import Diagnosis

__all__ = ["Diagnosis", "FailureRecord", "diagnose", "parse_catch", "record_failure"]

_logger = logging.getLogger(__name__)


def parse_catch(error: dict[str, Any]) -> dict[str, Any]:
    """Turn an ASL Catch payload ({"Error", "Cause"}) into type/message/remediation/context.

    HiveMind's tasks raise errors whose message is the JSON of ``HiveMindError.to_dict()``
    (see ``hivemind.handlers.common``); anything else (a crash, a Lambda timeout) keeps its raw text.
    """
    err_type = str(error.get("Error") or "UnknownError")
    cause = error.get("Cause") or ""
    message, remediation, context, stage = cause, None, {}, None
    try:
        payload = json.loads(cause) if isinstance(cause, str) and cause else {}
    except json.JSONDecodeError:
        payload = {}
    if isinstance(payload, dict) and payload:
        message = payload.get("errorMessage", message)
        try:
            inner = json.loads(message) if isinstance(message, str) and message.startswith("{") else None
        except json.JSONDecodeError:
            inner = None
        if isinstance(inner, dict) and "message" in inner:
            message = inner["message"]
            remediation = inner.get("remediation")
            context = inner.get("context") or {}
            stage = inner.get("stage")
    if remediation is None:
        cls = getattr(errors, err_type, None)
        remediation = cls.remediation if isinstance(cls, type) and issubclass(cls, errors.HiveMindError) else (
            "An unexpected error; see `hivemind logs <id>` and retry with `hivemind retry <id>`."
        )
    if err_type == "States.Timeout":
        message = message or "a task timed out"
    return {"type": err_type, "message": str(message)[:2000], "remediation": remediation, "context": context,
            "stage": stage}


class FailureRecord(BaseModel):
    deployment_id: str
    stage: str
    type: str
    message: str
    remediation: str
    cleanup_at: str | None = None


def record_failure(deployment_id: str, error: dict[str, Any], ports: Ports, execution_id: str = "") -> FailureRecord:
    parsed = parse_catch(error)
    state = ports.store.find(deployment_id)
    stage = parsed["stage"] or (state.stage if state else "validate")
    entry = ErrorEntry(
        deployment_id=deployment_id, stage=stage, type=parsed["type"], message=parsed["message"],
        context=parsed["context"], remediation=parsed["remediation"],
    )
    cleanup_at = None
    if state is not None:
        ports.store.add_error(entry)
        update: dict[str, Any] = {"error": entry, "stage": stage}
        if state.status not in {DeploymentStatus.FAILED, DeploymentStatus.DESTROYED}:
            state = state.transition(DeploymentStatus.FAILED)
        ports.store.save(state.model_copy(update=update))
        log(ports, deployment_id, stage, f"{entry.type}: {entry.message}", level="ERROR")
        cleanup_at = _schedule_cleanup(deployment_id, ports)
    ports.events.publish(
        constants.EV_FAILED,
        {"deployment_id": deployment_id, "stage": stage, "type": entry.type, "message": entry.message,
         "remediation": entry.remediation, "cleanup_at": cleanup_at},
    )
    return FailureRecord(deployment_id=deployment_id, stage=stage, type=entry.type, message=entry.message,
                         remediation=entry.remediation, cleanup_at=cleanup_at)


def _schedule_cleanup(deployment_id: str, ports: Ports) -> str | None:
    """A one-time EventBridge Scheduler schedule (the cleanup timer); skipped when not configured."""
    scheduler = ports.extra.get("scheduler")
    settings = ports.settings
    if scheduler is None or not settings.cleanup_role_arn or not settings.destroy_state_machine_arn:
        return None
    at = datetime.now(UTC) + timedelta(hours=settings.cleanup_timer_hours)
    scheduler.schedule_cleanup(deployment_id, at, settings.cleanup_action)
    return at.isoformat()


def diagnose(deployment_id: str, ports: Ports, *, auto_fix: bool = False) -> Diagnosis | None:
    """Diagnose the deployment's recorded error and save the diagnosis on its item.

    None when there is no such deployment or no error. The optional LLM reading (setting
    ``llm_diagnosis`` and a diagnoser in ``ports.extra["llm"]``) is added when it answers; its
    failures are logged and ignored.
    """
    from hivemind.logic.medic import diagnose_error

    state = ports.store.find(deployment_id)
    if state is None or state.error is None:
        return None
    diagnosis = diagnose_error(state.error)
    reading = _llm_reading(state.error, diagnosis, ports)
    if reading:
        diagnosis = diagnosis.model_copy(update={"llm_reading": reading})
    ports.store.save(state.model_copy(update={"diagnosis": diagnosis}))  # conditional on state.version
    log(ports, deployment_id, state.stage, f"diagnosis {diagnosis.rule}: {diagnosis.summary}",
        remediation=diagnosis.remediation, fixable=diagnosis.fixable)
    if auto_fix and diagnosis.fixable:
        _start_fix(state, diagnosis, ports)
    return diagnosis


def _start_fix(state: DeploymentState, diagnosis: Diagnosis, ports: Ports) -> None:
    """``deploy --auto-fix``: a retry that applies the safe fix (its Validate applies it and counts it)."""
    from hivemind.logic import launch

    workflows = ports.extra.get("workflows")
    if workflows is None or not ports.settings.retry_state_machine_arn:
        log(ports, state.id, state.stage, "auto-fix: no retry workflow configured; not applied", level="WARNING")
        return
    if state.retries >= ports.settings.max_retries:
        log(ports, state.id, state.stage, f"auto-fix: retry limit {ports.settings.max_retries} reached; not applied",
            level="WARNING")
        return
    execution = launch.start_retry(workflows, ports.settings.retry_state_machine_arn, state.id, fix=True)
    log(ports, state.id, state.stage, f"auto-fix: retrying with {diagnosis.fix}", execution=execution)


def _llm_reading(error: ErrorEntry, diagnosis: Diagnosis, ports: Ports) -> str | None:
    diagnoser = ports.extra.get("llm")
    if not getattr(ports.settings, "llm_diagnosis", False) or diagnoser is None:
        return None
    try:
        return diagnoser.read(error, diagnosis)
    except Exception:  # noqa: BLE001 - an optional reading: nothing may depend on it
        _logger.warning("the LLM reading of %s failed; the diagnosis stands without it", error.deployment_id,
                        exc_info=True)
        return None
