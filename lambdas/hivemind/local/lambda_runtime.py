"""Lambda tasks run in-process: moto's non-Docker Lambda backend dispatches to the real handlers.

moto behaviour adapted: ``LambdaSimpleBackend.invoke`` (used when the emulator's config says
``"lambda": {"use_docker": false}``) echoes the payload back. We replace it with a dispatcher
that imports the function's ``Handler`` (e.g. ``hivemind.handlers.provision.lambda_handler``),
calls it with the decoded event and a Lambda-like context, and answers exactly as the Lambda
service does: the JSON result, or for an exception the header ``X-Amz-Function-Error:
Unhandled`` and ``{"errorType": <class name>, "errorMessage": ..., "stackTrace": [...]}``.
Step Functions Retry/Catch then match ``ErrorEquals`` on the class name, as on AWS.

Environment variables: every function of the control plane gets the same ``HIVEMIND_*`` /
Powertools settings, so the server sets them once in its own process (``server.py``) and
``control_plane`` gives each function the same values as its ``Environment`` (checked there).
Handlers are invoked concurrently (moto serves each request in a thread), as Lambda runs
concurrent invocations in separate environments; handler modules must not keep per-request
global state.

Fault injection (tests only): ``faults.json`` in the state directory makes chosen invocations
fail without calling the handler (see ``take_fault`` and ``hivemind.local.faults``).
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hivemind.local import faults

log = logging.getLogger("hivemind.local.lambda")

_handlers: dict[str, Callable[[Any, Any], Any]] = {}
_handlers_lock = threading.Lock()


class HandlerImportError(Exception):
    """The function's Handler setting does not name an importable callable."""


@dataclass
class LambdaContext:
    """The attributes of the Lambda Python runtime's context object that code reads."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/") + f"[{self.function_version}]" + uuid.uuid4().hex
        self.identity = None
        self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(path: str) -> Callable[[Any, Any], Any]:
    """Import ``package.module.function`` once and cache it (like a warm Lambda environment)."""
    with _handlers_lock:
        if path in _handlers:
            return _handlers[path]
        module_name, _, attr = path.rpartition(".")
        if not module_name or not attr:
            raise HandlerImportError(f"Handler {path!r} is not of the form module.function")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise HandlerImportError(f"Unable to import module '{module_name}': {exc}") from exc
        func = getattr(module, attr, None)
        if not callable(func):
            raise HandlerImportError(f"Handler '{attr}' missing on module '{module_name}'")
        _handlers[path] = func
        return func


def warm(handler_paths: list[str]) -> dict[str, float]:
    """Make the in-process functions warm before the first invocation: import every handler, build
    the adapters and create each AWS client they use (all cached for the process's life).

    On AWS each function pays this once per environment (its init and first request); here all
    functions share this process, so paying it once at ``local up`` keeps it out of the first
    deploy. Returns seconds per part, for the server log.
    """
    from hivemind.adapters.aws import SERVICES, client
    from hivemind.logic.ports import default_ports

    started = time.monotonic()
    for path in handler_paths:
        load_handler(path)
    imported = time.monotonic()
    default_ports()
    for service in SERVICES:
        client(service)
    return {"handlers": imported - started, "clients": time.monotonic() - imported}


def _error_payload(error_type: str, message: str, stack: list[str] | None = None) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message, "stackTrace": stack or []}).encode()


# --- fault injection ------------------------------------------------------------------------------
# The fault file is shared with the API faults of the emulator's HTTP layer: reading and
# consuming it lives in ``hivemind.local.faults``; these names stay for existing callers.
FAULTS_FILE = faults.FAULTS_FILE
faults_path = faults.faults_path
write_faults = faults.write_faults


def take_fault(function_name: str, state_dir: Path | None = None) -> dict[str, Any] | None:
    """Consume the Lambda fault armed for this invocation of ``function_name``, if any.

    ``<state_dir>/faults.json`` holds entries such as
    ``{"function": "hivemind-verify", "error": "TransientError", "message": "...", "times": 1}``
    (``times`` defaults to 1, -1 = always; an optional ``"stage"`` overrides the error class's
    stage). The invocation then answers with that error instead of calling the handler, or with
    ``"when": "after"`` once the handler has run (its side effects happened: a late crash or
    timeout, as when a real task fails at its end). See
    ``hivemind.local.faults`` for the file's format and the API faults.
    """
    return faults.take_lambda_fault(function_name, state_dir)


def fault_payload(fault: dict[str, Any]) -> bytes:
    """The answer of a handler that raised ``fault["error"]`` unhandled.

    A HiveMind error class (``hivemind.errors``) gets the message its handler wrapper gives it
    (the JSON of ``to_dict()``: stage, remediation), so the failure path records it exactly as a
    real one; any other name (``Lambda.ServiceException``, ...) gets the plain message.
    """
    from hivemind import errors

    error_type = str(fault.get("error") or "InjectedFault")
    message = str(fault.get("message") or f"fault injected into {fault.get('function')}")
    cls = getattr(errors, error_type, None)
    if isinstance(cls, type) and issubclass(cls, errors.HiveMindError):
        kwargs = {"stage": fault["stage"]} if fault.get("stage") else {}
        message = json.dumps(cls(message, **kwargs).to_dict(), default=str)
    return _error_payload(error_type, message, [f"fault injected from {FAULTS_FILE}"])


def run_handler(fn: Any, body: Any) -> tuple[bytes, str | None]:
    """Invoke moto function ``fn`` with request ``body``; return (payload, function error or None)."""
    try:
        raw = body.decode() if isinstance(body, bytes) else (body or "")
        event = json.loads(raw) if raw.strip() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _error_payload("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}"), "Unhandled"
    fault = take_fault(fn.function_name)
    if fault is not None and fault.get("when", "before") != "after":
        log.info("%s: injected fault %s", fn.function_name, fault.get("error"))
        return fault_payload(fault), "Unhandled"
    payload, error = _run(fn, event)
    if fault is not None:  # "when": "after": the task did its work, then failed (a late crash or timeout)
        log.info("%s: injected fault %s after the handler ran", fn.function_name, fault.get("error"))
        return fault_payload(fault), "Unhandled"
    return payload, error


def _run(fn: Any, event: Any) -> tuple[bytes, str | None]:
    """Call the function's handler as Lambda does: its Timeout, its error answer."""
    try:
        handler = load_handler(fn.handler)
    except HandlerImportError as exc:
        log.error("%s: %s", fn.function_name, exc)
        return _error_payload("Runtime.ImportModuleError", str(exc)), "Unhandled"
    context = LambdaContext(
        function_name=fn.function_name,
        function_version=str(getattr(fn, "version", "$LATEST")),
        invoked_function_arn=fn.function_arn,
        memory_limit_in_mb=int(fn.memory_size or 128),
        timeout_s=int(fn.timeout or 3),
    )
    started = time.monotonic()
    outcome: dict[str, Any] = {}

    def call() -> None:
        try:
            outcome["result"] = handler(event, context)
        except Exception as exc:  # noqa: BLE001 - every exception becomes a Lambda function error
            outcome["error"] = exc

    # Lambda stops a function at its Timeout; a thread cannot be killed, so the invocation
    # answers with Lambda's timeout error and the runaway thread is left to finish (logged).
    worker = threading.Thread(target=call, name=f"lambda-{fn.function_name}", daemon=True)
    worker.start()
    worker.join(context.timeout_s)
    elapsed = time.monotonic() - started
    log.info("%s took %.0f ms (request %s)", fn.function_name, elapsed * 1000, context.aws_request_id)
    if worker.is_alive():
        log.warning("%s exceeded its %d s timeout; its thread keeps running", fn.function_name, context.timeout_s)
        return _error_payload("Sandbox.Timedout", f"Task timed out after {context.timeout_s:.2f} seconds"), \
            "Unhandled"
    if "error" in outcome:
        exc = outcome["error"]
        stack = traceback.format_exception(exc)
        log.info("%s raised %s: %s", fn.function_name, type(exc).__name__, exc)
        return _error_payload(type(exc).__name__, str(exc), [line.rstrip() for line in stack]), "Unhandled"
    try:
        return json.dumps(outcome.get("result")).encode(), None
    except (TypeError, ValueError) as exc:
        return _error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}"), "Unhandled"


def _invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
            response_headers: dict[str, str]) -> bytes:
    """Replacement for ``LambdaSimpleBackend.invoke`` (same signature)."""
    fn = self.get_function(function_name, qualifier)
    invocation_type = (headers or {}).get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        # Asynchronous invoke: Lambda queues the event and answers 202 at once.
        threading.Thread(target=run_handler, args=(fn, body), name=f"lambda-{fn.function_name}",
                         daemon=True).start()
        return b""
    payload, error = run_handler(fn, body)
    if error:
        response_headers["x-amz-function-error"] = error
    response_headers["x-amz-executed-version"] = str(getattr(fn, "version", "$LATEST"))
    return payload


def install() -> None:
    """Patch moto's non-Docker Lambda backend (call once, in the server process)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    LambdaSimpleBackend.invoke = _invoke  # type: ignore[method-assign]
