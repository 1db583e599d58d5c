"""The cleanup timer, emulated: fire due EventBridge Scheduler schedules.

moto stores schedules but never runs them. A thread here looks once a second for ENABLED
one-time schedules (``at(...)``) whose time has come, fires their target the way Scheduler
does — StartExecution for a state machine, PutEvents (with ``EventBridgeParameters``) for an
event bus — through boto3 against this emulator's own endpoint, and then deletes the schedule
(``ActionAfterCompletion`` DELETE) or remembers it fired (NONE). Each firing is logged.

Only one-time schedules are emulated: HiveMind creates no other kind (the daily sweep is an
EventBridge rule, which the local cloud does not run).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger("hivemind.local.timers")

TICK_S = 1.0
MAX_ATTEMPTS = 3  # a target that keeps failing is given up (logged), not fired every second forever
_AT = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")

_lock = threading.Lock()
_thread: threading.Thread | None = None
_stop = threading.Event()
_done: dict[str, str] = {}  # schedule ARN -> fingerprint of the version that fired (or was given up)
_attempts: dict[str, int] = {}


@dataclass(frozen=True)
class Due:
    arn: str
    name: str
    group: str
    region: str
    account: str
    target: dict[str, Any]
    after: str  # ActionAfterCompletion: DELETE or NONE
    fingerprint: str


def when(expression: str, timezone: str | None) -> datetime | None:
    """The UTC time of a one-time ``at(yyyy-mm-ddThh:mm:ss)`` expression; None for rate/cron."""
    match = _AT.match(expression or "")
    if not match:
        return None
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("schedule timezone %r unknown; using UTC", timezone)
        zone = ZoneInfo("UTC")
    return datetime.fromisoformat(match.group(1)).replace(tzinfo=zone).astimezone(UTC)


def due_schedules(now: datetime | None = None) -> list[Due]:
    """ENABLED one-time schedules in every account and region of the emulator whose time has come."""
    from moto.scheduler.models import scheduler_backends

    now = now or datetime.now(UTC)
    found: list[Due] = []
    for account, regions in list(scheduler_backends.items()):
        for region, backend in list(regions.items()):
            for group in list(backend.schedule_groups.values()):
                for sched in list(group.schedules.values()):
                    at = when(sched.schedule_expression, sched.schedule_expression_timezone)
                    if sched.state != "ENABLED" or at is None or at > now:
                        continue
                    fingerprint = f"{sched.schedule_expression}@{sched.last_modified_date}"
                    if _done.get(sched.arn) == fingerprint:
                        continue
                    found.append(Due(arn=sched.arn, name=sched.name, group=group.name, region=region,
                                     account=account, target=dict(sched.target),
                                     after=sched.action_after_completion or "NONE", fingerprint=fingerprint))
    return found


class _Clients:
    """boto3 clients of this emulator (its own endpoint, the dummy credentials), one set per region."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._cache: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._cache:
            import boto3

            from hivemind.local.context import DUMMY_CREDENTIALS

            self._cache[key] = boto3.session.Session(
                aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=region,
            ).client(service, endpoint_url=self.endpoint_url)
        return self._cache[key]


def fire(due: Due, clients: Any) -> str:
    """Invoke the schedule's target as Scheduler would; returns what was done (for the log)."""
    target = due.target
    arn = str(target.get("Arn", ""))
    body = target.get("Input") or "{}"
    if ":states:" in arn and ":stateMachine:" in arn:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        out = clients("stepfunctions", due.region).start_execution(
            stateMachineArn=arn, name=f"{due.name}-{stamp}"[:80], input=body)
        return f"started {out['executionArn']}"
    if ":events:" in arn and ":event-bus/" in arn:
        params = target.get("EventBridgeParameters") or {}
        resp = clients("events", due.region).put_events(Entries=[{
            "Source": params.get("Source", "aws.scheduler"),
            "DetailType": params.get("DetailType", "Scheduled Event"),
            "Detail": body if body.strip().startswith("{") else json.dumps({"input": body}),
            "EventBusName": arn,
        }])
        if resp.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected the event: {resp.get('Entries')}")
        return f"put {params.get('DetailType')!r} on {arn.rsplit('/', 1)[-1]}"
    raise ValueError(f"the local cloud cannot invoke target {arn!r} (only state machines and event buses)")


def tick(clients: Any, now: datetime | None = None) -> list[str]:
    """Fire every due schedule once; returns the ARNs fired (tests call this directly)."""
    fired: list[str] = []
    for due in due_schedules(now):
        try:
            what = fire(due, clients)
        except Exception as exc:  # noqa: BLE001 - one bad target must not stop the others
            attempts = _attempts[due.arn] = _attempts.get(due.arn, 0) + 1
            log.error("cleanup timer %s/%s: firing failed (attempt %d/%d): %s", due.group, due.name, attempts,
                      MAX_ATTEMPTS, exc)
            if attempts >= MAX_ATTEMPTS:
                _done[due.arn] = due.fingerprint
                log.error("cleanup timer %s/%s: given up", due.group, due.name)
            continue
        _attempts.pop(due.arn, None)
        _done[due.arn] = due.fingerprint
        log.info("cleanup timer %s/%s fired: %s", due.group, due.name, what)
        fired.append(due.arn)
        if due.after == "DELETE":
            try:
                clients("scheduler", due.region).delete_schedule(Name=due.name, GroupName=due.group)
                log.info("cleanup timer %s/%s deleted after firing (ActionAfterCompletion DELETE)",
                         due.group, due.name)
            except Exception as exc:  # noqa: BLE001 - it fired; it is marked done either way
                log.warning("cleanup timer %s/%s: delete after firing failed: %s", due.group, due.name, exc)
    return fired


def _run(clients: Any) -> None:
    while not _stop.wait(TICK_S):
        try:
            tick(clients)
        except Exception:  # noqa: BLE001 - the timer thread must survive anything
            log.exception("cleanup timer tick failed")


def start(ctx: Any) -> None:
    """Start firing due one-time schedules (the cleanup timers) in a background thread."""
    global _thread
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _stop.clear()
        _thread = threading.Thread(target=_run, args=(_Clients(ctx.endpoint_url),), name="cleanup-timers",
                                   daemon=True)
        _thread.start()
    log.info("cleanup timers: checking Scheduler schedules every %.0f s", TICK_S)


def stop() -> None:
    """Stop the background thread."""
    global _thread
    with _lock:
        _stop.set()
        if _thread is not None:
            _thread.join(timeout=10)
        _thread = None
