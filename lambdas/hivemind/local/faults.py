"""Fault injection for the local cloud (tests only): make chosen AWS API calls or Lambda tasks fail.

One list of entries in ``<state_dir>/faults.json`` drives both kinds:

- a Lambda fault ``{"function": "hivemind-verify", "error": "TransientError", "times": 1}`` makes the
  in-process Lambda runtime answer with that error instead of calling the handler
  (``lambda_runtime.run_handler`` calls ``take_lambda_fault``);
- a resource fault ``{"resource_type": "AWS::EC2::SecurityGroup", "operation": "delete", "error":
  "DependencyViolation"}`` makes CloudFormation's create or delete of that type fail inside the
  emulator (``cfn_extensions``), so a stack ends ROLLBACK_COMPLETE or DELETE_FAILED as on AWS;
- an API fault ``{"service": "cloudformation", "action": "CreateChangeSet", "error": "AccessDenied",
  "status": 403, "message": "...", "times": 1, "delay_s": 0}`` makes the emulator's HTTP layer
  answer that request with the error in the protocol's own format (so botocore raises a
  ClientError with that code), or with ``delay_s`` sleep and then pass the call through (a slow
  call). ``service`` is the SigV4 signing name (``cloudformation``, ``dynamodb``, ``states``,
  ``elasticloadbalancing``...; a few aliases are accepted); ``action`` is the operation name
  (absent or ``"*"``: every operation of the service).

``times`` is how many matching calls the entry still takes (default 1; ``-1``: always); ``skip``
lets that many matching calls pass first (target the second DescribeStacks, not the first); every
hit increments ``hits``, written back, so a test can prove its fault really happened. The first
matching entry that still has calls left wins. A Lambda entry may say ``"when": "after"``: the
handler runs, then its answer is replaced by the error (a late crash or a timeout).

Why at the HTTP layer: the handlers, the CLI and the tests reach the emulator through HTTP with
real botocore clients, so an injected error travels the same path (botocore's retries, the
handler's error translation, ASL Retry/Catch) as a real one. Calls moto makes inside the server
(CloudFormation creating EC2 resources) never cross HTTP and cannot be faulted here.

Cost when unused: one ``stat`` of the file per request.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from hivemind.errors import InvalidInput

log = logging.getLogger("hivemind.local.faults")

FAULTS_FILE = "faults.json"
_lock = threading.Lock()

# Friendly names -> SigV4 signing names.
SERVICE_ALIASES = {
    "stepfunctions": "states",
    "sfn": "states",
    "elbv2": "elasticloadbalancing",
    "elb": "elasticloadbalancing",
    "resourcegroupstaggingapi": "tagging",
    "eventbridge": "events",
}
# Services whose wire protocol is not told by the request alone (no X-Amz-Target, no Action=).
_REST_XML = frozenset({"s3"})
_EC2 = frozenset({"ec2"})
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/(?P<service>[^/,\s]+)/aws4_request")


# --- the fault file ---------------------------------------------------------------------------------
def faults_path(state_dir: Path | str | None = None) -> Path | None:
    """``<state_dir>/faults.json`` (default: the server's state directory; None outside the server)."""
    if state_dir is None:
        from hivemind.local.context import get_context

        try:
            state_dir = get_context().state_dir
        except RuntimeError:  # not inside the server (e.g. a unit test calling run_handler)
            return None
    return Path(state_dir) / FAULTS_FILE


def read_faults(state_dir: Path | str) -> list[dict[str, Any]]:
    """The current entries (an empty list when there is no file or it is unreadable)."""
    path = Path(state_dir) / FAULTS_FILE
    return _load(path) or []


def write_faults(state_dir: Path | str, faults: list[dict[str, Any]]) -> None:
    """Replace the fault list atomically (an empty list clears it)."""
    path = Path(state_dir) / FAULTS_FILE
    tmp = path.with_name(f".{FAULTS_FILE}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(faults, indent=1))
    tmp.replace(path)


def inject(state_dir: Path | str, entry: dict[str, Any]) -> dict[str, Any]:
    """Append one checked entry to the fault list; return it as stored (for tests and the harness)."""
    checked = check_entry(entry)
    with _lock:
        write_faults(state_dir, [*read_faults(state_dir), checked])
    return checked


def clear(state_dir: Path | str) -> None:
    """Remove every fault (the file goes away, so requests are back to one failed stat)."""
    with _lock:
        (Path(state_dir) / FAULTS_FILE).unlink(missing_ok=True)


def check_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Validate an entry so a typo fails the test that wrote it, not silently at match time."""
    if not isinstance(entry, dict):
        raise InvalidInput(f"a fault entry must be a JSON object, got {type(entry).__name__}", stage="faults",
                           remediation='Write e.g. {"service": "cloudformation", "action": "CreateStack", '
                                       '"error": "AccessDenied"}.')
    out = dict(entry)
    has_function, has_service = bool(out.get("function")), bool(out.get("service"))
    has_resource = bool(out.get("resource_type"))
    if has_function + has_service + has_resource != 1:
        raise InvalidInput(f"fault entry {entry} must name exactly one of 'function' (a Lambda task), "
                           "'service' (an AWS API) or 'resource_type' (a CloudFormation resource operation)",
                           stage="faults",
                           remediation="Add \"function\": \"hivemind-<task>\" or \"service\": \"<signing name>\".")
    if has_resource and out.setdefault("operation", "delete") not in ("create", "delete"):
        raise InvalidInput(f"fault entry {entry}: 'operation' is 'create' or 'delete'", stage="faults",
                           remediation='Use "operation": "delete" (the stack ends DELETE_FAILED) or "create".')
    times = out.setdefault("times", 1)
    if not isinstance(times, int) or isinstance(times, bool) or times < -1:
        raise InvalidInput(f"fault entry {entry}: 'times' must be an integer >= -1 (-1 = always), got {times!r}",
                           stage="faults", remediation="Use a count such as 1, or -1 for every call.")
    delay = out.get("delay_s", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise InvalidInput(f"fault entry {entry}: 'delay_s' must be a number >= 0, got {delay!r}", stage="faults",
                           remediation="Give the seconds to wait before passing the call through.")
    if not out.get("error") and not (has_service and delay):
        raise InvalidInput(f"fault entry {entry} needs an 'error' (or, for an API fault, a 'delay_s')",
                           stage="faults", remediation='Add e.g. "error": "ThrottlingException".')
    status = out.get("status", 400)
    if not isinstance(status, int) or not 400 <= status <= 599:
        raise InvalidInput(f"fault entry {entry}: 'status' must be an HTTP error status 400-599, got {status!r}",
                           stage="faults", remediation="Use 400 for client errors, 403 for AccessDenied, 500+.")
    skip = out.setdefault("skip", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise InvalidInput(f"fault entry {entry}: 'skip' must be an integer >= 0, got {skip!r}", stage="faults",
                           remediation="Give how many matching calls pass before the fault starts.")
    if out.get("when", "before") not in ("before", "after") or (has_service and "when" in out):
        raise InvalidInput(f"fault entry {entry}: 'when' is 'before' or 'after', for a Lambda fault only",
                           stage="faults", remediation='Drop "when" or use "before"/"after" with "function".')
    if has_service:
        out["service"] = canonical_service(str(out["service"]))
    out.setdefault("hits", 0)
    return out


def canonical_service(name: str) -> str:
    lowered = name.strip().lower()
    return SERVICE_ALIASES.get(lowered, lowered)


def _load(path: Path) -> list[dict[str, Any]] | None:
    try:
        faults = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable fault file %s: %s", path, exc)
        return None
    if not isinstance(faults, list):
        log.warning("ignoring fault file %s: expected a JSON list of entries", path)
        return None
    return faults


def take(path: Path | None, matches: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    """Consume one call of the first entry that ``matches`` and still has calls left.

    A lock serializes the read-modify-write (requests and invocations run in threads); the file is
    replaced atomically. No file, an empty list or an unreadable file means no faults.
    """
    if path is None:
        return None
    with _lock:
        faults = _load(path)
        if not faults:
            return None
        for entry in faults:
            if not isinstance(entry, dict) or not matches(entry):
                continue
            times = entry.get("times", 1)
            if not isinstance(times, int) or isinstance(times, bool) or times == 0 or times < -1:
                continue
            skip = entry.get("skip") or 0
            if isinstance(skip, int) and skip > 0:  # this call passes; the fault starts later
                entry["skip"] = skip - 1
                write_faults(path.parent, faults)
                return None
            if times > 0:
                entry["times"] = times - 1
            entry["hits"] = int(entry.get("hits") or 0) + 1
            write_faults(path.parent, faults)
            return dict(entry)
    return None


def take_lambda_fault(function_name: str, state_dir: Path | None = None) -> dict[str, Any] | None:
    """The Lambda fault for this invocation of ``function_name``, if one is armed (consumed)."""
    return take(faults_path(state_dir), lambda e: e.get("function") == function_name)


def take_api_fault(service: str, action: str, state_dir: Path | None = None) -> dict[str, Any] | None:
    """The API fault for this call, if one is armed (consumed)."""
    return take(faults_path(state_dir), lambda e: _matches_api(e, service, action))


def _matches_api(entry: dict[str, Any], service: str, action: str) -> bool:
    if not entry.get("service") or canonical_service(str(entry["service"])) != service:
        return False
    wanted = entry.get("action")
    return wanted in (None, "", "*") or str(wanted).lower() == action.lower()


# --- identifying a request --------------------------------------------------------------------------
def request_service(environ: dict[str, Any]) -> str | None:
    """The SigV4 signing name from the Authorization header's credential scope (None: unsigned)."""
    match = _CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group("service") if match else None


def request_action(environ: dict[str, Any]) -> tuple[str, str]:
    """(action, protocol) of a request; reads a form body and puts it back for moto.

    JSON protocols name the operation in ``X-Amz-Target`` (``DynamoDB_20120810.PutItem``); query
    protocols in the ``Action`` form field (body or query string). REST protocols name it by
    method and path only: the action is then "" and only a service-wide entry matches.
    """
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0], "query"
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = _peek_body(environ)
        fields = parse_qs(body.decode("utf-8", errors="replace"))
        if "Action" in fields:
            return fields["Action"][0], "query"
    return "", "rest"


def _peek_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and replace ``wsgi.input`` with a fresh stream of the same bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# --- error answers in each protocol's format --------------------------------------------------------
def error_response(service: str, protocol: str, entry: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) that botocore parses into a ClientError with ``entry["error"]``."""
    code = str(entry.get("error"))
    message = str(entry.get("message") or f"injected fault: {code}")
    status = int(entry.get("status") or 400)
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "json" or (protocol == "rest" and service not in _REST_XML):
        # awsJson / restJson: __type in the body, x-amzn-ErrorType in the headers.
        body = json.dumps({"__type": code, "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
    elif service in _EC2:
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{request_id}</RequestID>"
                "</Response>").encode()
        headers.append(("Content-Type", "text/xml"))
    elif protocol == "query":
        kind = "Receiver" if status >= 500 else "Sender"
        body = (f"<ErrorResponse><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        headers.append(("Content-Type", "text/xml"))
    else:  # restXml (S3)
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{escape(code)}</Code>"
                f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
        headers.append(("Content-Type", "application/xml"))
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 429: "Too Many Requests",
            500: "Internal Server Error", 503: "Service Unavailable"}


# --- the WSGI middleware ----------------------------------------------------------------------------
class FaultMiddleware:
    """Answers a request with an armed fault, or passes it to the emulator."""

    def __init__(self, app: Any, state_dir: Path | None = None) -> None:
        self.app = app
        self._state_dir = state_dir

    def _path(self) -> Path | None:
        return faults_path(self._state_dir)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = self._path()
        if path is None or not _exists(path):
            return self.app(environ, start_response)
        service = request_service(environ)
        if service is None:
            return self.app(environ, start_response)
        action, protocol = request_action(environ)
        entry = take(path, lambda e: _matches_api(e, service, action))
        if entry is None:
            return self.app(environ, start_response)
        delay = float(entry.get("delay_s") or 0)
        if delay:
            log.info("fault: delaying %s:%s by %.1f s", service, action, delay)
            time.sleep(delay)
        if not entry.get("error"):
            return self.app(environ, start_response)
        log.info("fault: %s:%s answers %s", service, action, entry.get("error"))
        status, headers, body = error_response(service, protocol, entry)
        start_response(status, headers)
        return [body]


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def wrap(app: Any, state_dir: Path | None = None) -> FaultMiddleware:
    """Wrap the emulator's WSGI app so chosen AWS API calls can be made to fail (see the module doc)."""
    return FaultMiddleware(app, state_dir)
