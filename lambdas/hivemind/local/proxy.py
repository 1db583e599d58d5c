"""Each ELBv2 load balancer is a real HTTP reverse proxy on a loopback port, with health checks.

moto behaviours adapted (installed by ``install``):

- ``ELBv2Backend.create_load_balancer``: a proxy starts on a free ``127.0.0.1`` port and the
  load balancer's ``DNSName`` becomes ``127.0.0.1:<port>``, so a stack output such as
  ``http://${ALB.DNSName}/`` is a working local URL.
- ``ELBv2Backend.delete_load_balancer``: the proxy stops.
- ``FakeTargetGroup.health_for`` (DescribeTargetHealth): moto calls every registered target of a
  running instance "healthy". Here a monitor really checks each target with ITS target group's
  protocol/port/path/matcher, interval, timeout and healthy/unhealthy threshold counts, and
  reports ``initial`` (Elb.RegistrationInProgress / Elb.InitialHealthChecking), ``healthy``,
  ``unhealthy`` (Target.FailedHealthChecks, Target.Timeout, Target.ResponseCodeMismatch) or
  ``unused`` (Target.NotInUse), as ALB does. As on ALB, a new target is healthy after ONE
  passing check. Intervals and timeouts run ``speed`` times faster than configured
  (``LocalContext.speed``, default 20: a 30 s interval is checked every 1.5 s; timeouts at least 1 s).

Routing: the listener on port 80 (else the first listener) is used. A ``forward`` action sends
the request to a healthy target of its target group (round robin); a ``redirect`` to HTTPS
(there is no TLS locally) is followed to the listener it points at; ``fixed-response`` is served.
No healthy target -> 503 with a body that names the target group and its targets' states
(ALB would "fail open" to unhealthy targets; locally a clear 503 is more useful). A target that
refuses the connection -> 502, that does not answer in time -> 504, as ALB does.
Method, path, query, headers (plus X-Forwarded-For/Proto/Port; Host is preserved) and body go
to the target; the response is streamed back.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import logging
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from hivemind.local.context import HOST, get_context

log = logging.getLogger("hivemind.local.proxy")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "proxy-connection"}
UPSTREAM_TIMEOUT_S = 60.0  # ALB idle timeout
CHUNK = 64 * 1024
MONITOR_TICK_S = 0.05


# --- health ------------------------------------------------------------------------------------
@dataclass
class TargetHealth:
    state: str = "initial"
    reason: str | None = "Elb.RegistrationInProgress"
    description: str | None = "Target registration is in progress"
    ok_streak: int = 0
    fail_streak: int = 0
    checks: int = 0
    next_due: float = 0.0
    in_flight: bool = False
    last_checked: float = 0.0


def _matches(code: int, matcher: dict[str, Any] | None) -> bool:
    """ALB matcher: "200", "200,302", "200-399"."""
    spec = str((matcher or {}).get("HttpCode") or "200")
    for part in spec.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            if int(low) <= code <= int(high):
                return True
        elif part.isdigit() and int(part) == code:
            return True
    return False


def target_address(target_id: str) -> str | None:
    """Instance targets -> the instance's loopback address; IP targets are their own address."""
    if target_id.startswith("i-"):
        from hivemind.local.agent import instance_ip

        return instance_ip(target_id)
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", target_id):
        return target_id
    return None


def _probe(tg: Any, address: str, port: int) -> tuple[bool, str | None, str | None]:
    """One health check: (passed, reason, description)."""
    ctx = get_context()
    timeout = ctx.scaled(int(tg.health_check_timeout_seconds or 5), minimum=1.0)
    hc_port = tg.health_check_port
    check_port = port if hc_port in (None, "traffic-port") else int(hc_port)
    protocol = (tg.health_check_protocol or "HTTP").upper()
    if protocol == "TCP":
        try:
            with socket.create_connection((address, check_port), timeout=timeout):
                return True, None, None
        except TimeoutError:
            return False, "Target.Timeout", "Request timed out"
        except OSError:
            return False, "Target.FailedHealthChecks", "Health checks failed"
    conn = http.client.HTTPConnection(address, check_port, timeout=timeout)
    try:
        conn.request("GET", tg.health_check_path or "/", headers={"User-Agent": "ELB-HealthChecker/2.0",
                                                                   "Host": f"{address}:{check_port}"})
        response = conn.getresponse()
        response.read(CHUNK)
        if _matches(response.status, tg.matcher):
            return True, None, None
        return (False, "Target.ResponseCodeMismatch",
                f"Health checks failed with these codes: [{response.status}]")
    except TimeoutError:
        return False, "Target.Timeout", "Request timed out"
    except (OSError, http.client.HTTPException):
        return False, "Target.FailedHealthChecks", "Health checks failed"
    finally:
        conn.close()


class HealthMonitor:
    """Checks every registered target of every target group that a load balancer uses."""

    def __init__(self) -> None:
        self.health: dict[tuple[str, str, int], TargetHealth] = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="health")
        self.thread = threading.Thread(target=self._run, name="health-monitor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(timeout=5)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def get(self, tg_arn: str, target_id: str, port: int) -> TargetHealth | None:
        with self.lock:
            return self.health.get((tg_arn, target_id, int(port)))

    def _run(self) -> None:
        while not self.stop_event.wait(MONITOR_TICK_S):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - the monitor must survive a bad tick
                log.exception("health monitor tick failed")

    def _tick(self) -> None:
        now = time.monotonic()
        seen: set[tuple[str, str, int]] = set()
        for tg in _all_target_groups():
            if not tg.load_balancer_arns or not tg.health_check_enabled:
                continue
            interval = get_context().scaled(int(tg.health_check_interval_seconds or 30))
            for target in list(tg.targets.values()):
                key = (tg.arn, target["Id"], int(target["Port"]))
                seen.add(key)
                with self.lock:
                    health = self.health.setdefault(key, TargetHealth(next_due=now))
                    if health.in_flight or now < health.next_due:
                        continue
                    health.in_flight = True
                    health.next_due = now + interval
                self.pool.submit(self._check, tg, key)
        with self.lock:
            for key in list(self.health):
                if key not in seen:
                    del self.health[key]

    def _check(self, tg: Any, key: tuple[str, str, int]) -> None:
        _, target_id, port = key
        address = target_address(target_id)
        if address is None:
            passed, reason, description = False, "Target.FailedHealthChecks", "Health checks failed"
        else:
            passed, reason, description = _probe(tg, address, port)
        with self.lock:
            health = self.health.get(key)
            if health is None:
                return
            health.in_flight = False
            health.checks += 1
            health.last_checked = time.monotonic()
            if passed:
                health.ok_streak += 1
                health.fail_streak = 0
                healthy_needed = 1 if health.state == "initial" else int(tg.healthy_threshold_count or 5)
                if health.state != "healthy" and health.ok_streak >= healthy_needed:
                    health.state, health.reason, health.description = "healthy", None, None
            else:
                health.fail_streak += 1
                health.ok_streak = 0
                if health.fail_streak >= int(tg.unhealthy_threshold_count or 2):
                    health.state, health.reason, health.description = "unhealthy", reason, description
                elif health.state == "initial":
                    health.reason, health.description = "Elb.InitialHealthChecking", "Initial health checks in progress"


_monitor: HealthMonitor | None = None


def monitor() -> HealthMonitor:
    global _monitor
    if _monitor is None:
        _monitor = HealthMonitor()
        _monitor.start()
    return _monitor


def _all_target_groups() -> list[Any]:
    from moto.elbv2.models import elbv2_backends

    groups = []
    for account in list(dict.values(elbv2_backends)):
        for backend in list(dict.values(account)):
            groups.extend(list(backend.target_groups.values()))
    return groups


def _all_backends() -> list[Any]:
    from moto.elbv2.models import elbv2_backends

    return [b for account in list(dict.values(elbv2_backends)) for b in list(dict.values(account))]


# --- the proxy ---------------------------------------------------------------------------------
@dataclass
class Proxy:
    lb_arn: str
    name: str
    server: ThreadingHTTPServer
    thread: threading.Thread
    counter: itertools.count = field(default_factory=itertools.count)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


_proxies: dict[str, Proxy] = {}
_proxies_lock = threading.Lock()


def _find_lb(arn: str) -> tuple[Any, Any] | tuple[None, None]:
    for backend in _all_backends():
        lb = backend.load_balancers.get(arn)
        if lb is not None:
            return backend, lb
    return None, None


def _listener(lb: Any) -> Any | None:
    listeners = list(lb.listeners.values())
    for listener in listeners:
        if int(listener.port) == 80:
            return listener
    return listeners[0] if listeners else None


def _action(lb: Any, listener: Any, depth: int = 0) -> dict[str, Any] | None:
    """The listener's default action as a dict; an HTTPS redirect follows to the listener it names."""
    actions = [a.data if hasattr(a, "data") else a for a in (listener.default_actions or [])]
    actions = sorted(actions, key=lambda a: int(a.get("Order") or 0))
    for action in actions:
        kind = action.get("Type")
        if kind == "redirect" and depth < 2:
            config = action.get("RedirectConfig") or {}
            port = str(config.get("Port") or "")
            for other in lb.listeners.values():
                if str(other.port) == port and other is not listener:
                    return _action(lb, other, depth + 1)
            return action
        if kind in ("forward", "fixed-response", "redirect"):
            return action
    return None


def _forward_groups(action: dict[str, Any]) -> list[str]:
    arns = []
    if action.get("TargetGroupArn"):
        arns.append(action["TargetGroupArn"])
    for entry in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
        if entry.get("TargetGroupArn") and entry["TargetGroupArn"] not in arns:
            arns.append(entry["TargetGroupArn"])
    return arns


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "HiveMindLocalALB/1.0"
    proxy: Proxy  # set on the subclass made per load balancer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s %s", self.proxy.name, format % args)

    def _plain(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _route(self) -> tuple[str, int] | None:
        """Pick a healthy target; answer the request itself (and return None) when it cannot."""
        backend, lb = _find_lb(self.proxy.lb_arn)
        if lb is None:
            self._plain(503, f"HiveMind local load balancer {self.proxy.name}: it is being deleted.\n")
            return None
        listener = _listener(lb)
        action = _action(lb, listener) if listener else None
        if action is None:
            self._plain(503, f"HiveMind local load balancer {lb.name}: no listener with a forward action.\n")
            return None
        if action.get("Type") == "fixed-response":
            config = action.get("FixedResponseConfig") or {}
            self._plain(int(config.get("StatusCode") or 200), str(config.get("MessageBody") or ""))
            return None
        if action.get("Type") == "redirect":
            self._plain(503, f"HiveMind local load balancer {lb.name}: the listener redirects and the local "
                             f"cloud has no TLS listener to follow it to.\n")
            return None
        candidates: list[tuple[str, int]] = []
        states: list[str] = []
        groups: list[str] = []
        for tg_arn in _forward_groups(action):
            tg = backend.target_groups.get(tg_arn)
            if tg is None:
                continue
            for target in list(tg.targets.values()):
                health = monitor().get(tg.arn, target["Id"], int(target["Port"]))
                state = health.state if health else "initial"
                states.append(f"{target['Id']}:{target['Port']} {state}"
                              + (f" ({health.reason}: {health.description})" if health and health.reason else ""))
                address = target_address(target["Id"])
                if state == "healthy" and address:
                    candidates.append((address, int(target["Port"])))
            groups.append(tg.name)
        if not candidates:
            names = ", ".join(states) or "no registered targets"
            self._plain(503, f"HiveMind local load balancer {lb.name}: no healthy target in target group "
                             f"{', '.join(groups) or '(none)'} [{names}].\n")
            return None
        return candidates[next(self.proxy.counter) % len(candidates)]

    def _forward(self) -> None:
        target = self._route()
        if target is None:
            return
        address, port = target
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        client = self.client_address[0]
        previous = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{previous}, {client}" if previous else client
        headers["X-Forwarded-Proto"] = "http"
        headers["X-Forwarded-Port"] = str(self.proxy.port)
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn = http.client.HTTPConnection(address, port, timeout=UPSTREAM_TIMEOUT_S)
        try:
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
            except TimeoutError:
                self._plain(504, f"HiveMind local load balancer: target {address}:{port} timed out.\n")
                return
            except (OSError, http.client.HTTPException) as exc:
                self._plain(502, f"HiveMind local load balancer: target {address}:{port} failed: {exc}.\n")
                return
            self._relay(response)
        finally:
            conn.close()

    def _relay(self, response: http.client.HTTPResponse) -> None:
        self.send_response(response.status, response.reason)
        length = response.getheader("Content-Length")
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        chunked = length is None and self.command != "HEAD" and response.status not in (204, 304)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        while True:
            data = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
            if not data:
                break
            if chunked:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            else:
                self.wfile.write(data)
            self.wfile.flush()
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _forward


def start_proxy(lb_arn: str, name: str, port: int = 0) -> Proxy:
    """Serve the load balancer on ``port`` (0: a free one). OSError when the port is taken."""
    handler = type("LbHandler", (_Handler,), {})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=f"alb-{name}", daemon=True)
    proxy = Proxy(lb_arn=lb_arn, name=name, server=server, thread=thread)
    handler.proxy = proxy  # type: ignore[attr-defined]
    thread.start()
    with _proxies_lock:
        _proxies[lb_arn] = proxy
    monitor()
    log.info("load balancer %s: proxy on %s:%d", name, HOST, proxy.port)
    return proxy


def stop_proxy(lb_arn: str) -> None:
    with _proxies_lock:
        proxy = _proxies.pop(lb_arn, None)
    if proxy is not None:
        proxy.stop()
        log.info("load balancer %s: proxy stopped", proxy.name)


def proxy_port(lb_arn: str) -> int | None:
    with _proxies_lock:
        proxy = _proxies.get(lb_arn)
    return proxy.port if proxy else None


# --- install / lifecycle -----------------------------------------------------------------------
def install() -> None:
    """Patch moto's ELBv2 backend and target health (call once, in the server process)."""
    from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeTargetGroup

    original_create = ELBv2Backend.create_load_balancer
    original_delete = ELBv2Backend.delete_load_balancer
    original_health_for = FakeTargetGroup.health_for

    def create_load_balancer(self: Any, *args: Any, **kwargs: Any) -> Any:
        lb = original_create(self, *args, **kwargs)
        proxy = start_proxy(lb.arn, lb.name)
        lb.dns_name = f"{HOST}:{proxy.port}"
        return lb

    def delete_load_balancer(self: Any, arn: str) -> None:
        original_delete(self, arn)
        stop_proxy(arn)

    def health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        status = original_health_for(self, target, ec2_backend)
        if status.status != "healthy":
            return status  # unused / draining / stopped: moto's answer is right
        registered = self.targets[target["Id"]]
        if not self.load_balancer_arns:
            return FakeHealthStatus(registered["Id"], registered["Port"], self.health_check_port, "unused",
                                    "Target.NotInUse",
                                    "Target group is not configured to receive traffic from the load balancer")
        health = monitor().get(self.arn, registered["Id"], int(registered["Port"]))
        if health is None:
            return FakeHealthStatus(registered["Id"], registered["Port"], self.health_check_port, "initial",
                                    "Elb.RegistrationInProgress", "Target registration is in progress")
        return FakeHealthStatus(registered["Id"], registered["Port"], self.health_check_port, health.state,
                                health.reason, health.description)

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
    ELBv2Backend.delete_load_balancer = delete_load_balancer  # type: ignore[method-assign]
    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]


def cleanup_stale(_ctx: Any) -> None:
    """Proxies live in this process only: nothing survives a previous run."""


def saved_port(dns_name: str | None) -> int | None:
    """The proxy port in a load balancer's DNS name ``127.0.0.1:<port>`` (None if it is not one)."""
    match = re.fullmatch(re.escape(HOST) + r":(\d{1,5})", dns_name or "")
    return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None


def restore(_ctx: Any) -> dict[str, int]:
    """After the emulator state was loaded: a proxy per load balancer, on the port in its DNS name.

    The port is part of the deployment's URL (the stack's ``Url`` output, the deployment item),
    so the same port is what keeps the URL working. If something else took it meanwhile, the
    error names it and the proxy gets a new port (the load balancer's DNSName follows; the URL
    recorded earlier does not).
    """
    ports: dict[str, int] = {}
    for backend in _all_backends():
        for lb in list(backend.load_balancers.values()):
            port = saved_port(lb.dns_name)
            try:
                proxy = start_proxy(lb.arn, lb.name, port or 0)
            except OSError as exc:
                proxy = start_proxy(lb.arn, lb.name, 0)
                log.error("load balancer %s: its port %s:%s is taken (%s); it now listens on %s:%d and its URL "
                          "changed", lb.name, HOST, port, exc, HOST, proxy.port)
            lb.dns_name = f"{HOST}:{proxy.port}"
            ports[lb.arn] = proxy.port
    return ports


def shutdown() -> None:
    global _monitor
    with _proxies_lock:
        arns = list(_proxies)
    for arn in arns:
        with contextlib.suppress(Exception):
            stop_proxy(arn)
    if _monitor is not None:
        _monitor.stop()
        _monitor = None
