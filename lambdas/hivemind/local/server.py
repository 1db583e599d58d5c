"""The local cloud process: ``python -m hivemind.local.server --port P --state-dir DIR``.

Sets the environment (the emulator's port, dummy credentials, the control plane's settings),
installs the emulator adaptations, serves moto on 127.0.0.1, bootstraps the control plane,
writes ``cloud.json`` (readiness) and serves until SIGTERM/SIGINT; then it stops every app
process, load balancer proxy and PostgreSQL server it started. Their files stay, and so does
the emulator's state (``persistence``: ``<state>/emulator/state.pickle``, written in the
background while it serves): the next start restores it, restarts proxies, databases and apps,
and marks deployments whose execution died as interrupted (``logic.recovery``).

Started by ``hivemind.local.cloud.up`` (detached); can also be run in a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from hivemind.local.context import DUMMY_CREDENTIALS, HOST, REGION, LocalContext, set_context

log = logging.getLogger("hivemind.local.server")

EMULATOR_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m hivemind.local.server", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="loopback port (0: pick a free one)")
    parser.add_argument("--state-dir", type=Path, required=True, help="directory for the local cloud's files")
    parser.add_argument("--speed", type=float, default=None,
                        help="run health checks this many times faster than AWS timing (default 20)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a TCP port (0-65535)")
    return args


def _configure_logging(logs_dir: Path) -> None:
    logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # One line per emulator request would drown the log: they go to their own file.
    requests = logging.FileHandler(logs_dir / "requests.log")
    requests.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    errors = logging.StreamHandler(sys.stderr)  # a request that failed inside the emulator
    errors.setLevel(logging.ERROR)
    errors.setFormatter(handler.formatter)
    werkzeug = logging.getLogger("werkzeug")
    werkzeug.handlers[:] = [requests, errors]
    werkzeug.propagate = False
    for noisy in ("botocore", "boto3", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_environment(ctx: LocalContext) -> None:
    """The process environment: moto's port, credentials, endpoint and the control plane's settings.

    Handlers run in this process and read these (their boto3 clients reach this server through
    AWS_ENDPOINT_URL). Set before moto and the handlers are imported.
    """
    from hivemind.local.control_plane import function_environment

    os.environ["MOTO_PORT"] = str(ctx.port)
    os.environ.update(DUMMY_CREDENTIALS)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(key, None)
    os.environ["AWS_DEFAULT_REGION"] = REGION
    os.environ["AWS_REGION"] = REGION
    os.environ["AWS_ENDPOINT_URL"] = ctx.endpoint_url
    os.environ.update(function_environment())
    os.environ["HIVEMIND_WORK_DIR"] = str(ctx.work_dir)
    os.environ["HIVEMIND_POLL_INTERVAL_S"] = "1"
    os.environ["HIVEMIND_LOCAL_DIR"] = str(ctx.state_dir)
    os.environ["HIVEMIND_LOCAL_SPEED"] = str(ctx.speed)
    # moto can preload the ~1,100 AWS managed IAM policies (about 1 s at start); the templates
    # attach them by ARN, which works without them. Set it to "true" to have them listed.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")


def _install_adapters() -> list[object]:
    """Install every emulator adaptation; return the modules that own processes (for shutdown)."""
    from hivemind.local import agent, cfn_extensions, lambda_runtime, proxy, rds, sfn_extensions

    lambda_runtime.install()
    cfn_extensions.install()
    sfn_extensions.install()
    agent.install()
    proxy.install()
    rds.install()
    return [proxy, agent, rds]


def _write_ready(ctx: LocalContext, bootstrap: dict[str, object]) -> None:
    from hivemind.local.cloud import READY_FILE, LocalCloud

    cloud = LocalCloud(endpoint_url=ctx.endpoint_url, port=ctx.port, pid=os.getpid(), state_dir=ctx.state_dir,
                       started_at=datetime.now(UTC))
    data = json.loads(cloud.model_dump_json())
    data["bootstrap"] = bootstrap
    tmp = ctx.state_dir / (READY_FILE + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(ctx.state_dir / READY_FILE)


def serve(ctx: LocalContext, stop: threading.Event) -> None:
    """Run the emulator until ``stop`` is set (the body of main, callable from tests)."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from hivemind import constants
    from hivemind.local import control_plane, lambda_runtime

    started = time.monotonic()
    owners = _install_adapters()
    adapters_s = time.monotonic() - started
    from hivemind.local import faults, persistence, timers

    restarts = _restore(ctx) if persistence.has_snapshot(ctx.state_dir) else None
    if restarts is None:
        for owner in owners:
            owner.cleanup_stale(ctx)  # type: ignore[attr-defined]
    counter = persistence.RequestCounter(faults.wrap(DomainDispatcherApplication(create_backend_app)))
    snapshots = persistence.Snapshotter(ctx.state_dir, counter)
    app = counter
    httpd = make_server(HOST, ctx.port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="moto-server", daemon=True)
    thread.start()
    try:
        request = urllib.request.Request(f"{ctx.endpoint_url}/moto-api/config", method="POST",
                                         data=json.dumps(EMULATOR_CONFIG).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        before_bootstrap = time.monotonic()
        report = control_plane.bootstrap(ctx.endpoint_url)
        log.info("control plane: created %d, existing %d, skipped %s", len(report.created), len(report.existing),
                 report.skipped or "nothing")
        log.info("timing: adapters %.2f s, emulator start %.2f s, bootstrap %.2f s", adapters_s,
                 before_bootstrap - started - adapters_s, time.monotonic() - before_bootstrap)
        try:
            warmed = lambda_runtime.warm([constants.handler_path(t) for t in (*constants.TASKS, constants.API_FUNCTION)])
            log.info("functions warm: handlers imported in %.2f s, clients created in %.2f s",
                     warmed["handlers"], warmed["clients"])
        except Exception:  # noqa: BLE001 - an optimisation: each function still loads on its first call
            log.exception("warming the functions failed; each loads on its first invocation instead")
        if restarts is not None:
            _after_restore(restarts)
        snapshots.save()  # the state as bootstrapped (and reconciled) is on disk before "ready"
        snapshots.start()
        timers.start(ctx)
        _write_ready(ctx, report.to_dict())
        log.info("local cloud ready at %s (state %s)", ctx.endpoint_url, ctx.state_dir)
        while not stop.wait(0.5):
            pass
    finally:
        log.info("stopping: app processes, proxies and databases (their files and the emulator state stay)")
        timers.stop()
        httpd.shutdown()  # no request changes the state any more
        from hivemind.local import agent

        with contextlib.suppress(Exception):
            agent.shutdown()  # in-flight commands become Failed/Undeliverable before the last snapshot
        snapshots.stop(final=True)
        for owner in owners:
            try:
                owner.shutdown()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - keep stopping the others
                log.exception("shutdown of %s failed", getattr(owner, "__name__", owner))
        thread.join(timeout=10)
        with contextlib.suppress(FileNotFoundError):
            (ctx.state_dir / "cloud.json").unlink()
        log.info("stopped")


def _restore(ctx: LocalContext) -> list[str]:
    """Load the saved emulator state, then bring back what ran in the stopped process.

    Before the emulator serves: executions that were RUNNING are ABORTED, in-flight commands
    fail, sandboxes are re-attached (left-over processes of a crash stopped), proxies listen on
    their saved ports, PostgreSQL runs on its data again. Returns the instances whose app is
    restarted once the emulator serves. A snapshot that cannot be loaded stops the start: the
    error names it (``hivemind local down --purge`` forgets it).
    """
    from hivemind.local import agent, cfn_extensions, persistence, proxy, rds, sfn_extensions

    started = time.monotonic()
    try:
        names = persistence.restore(ctx.state_dir)
    except Exception as exc:
        raise RuntimeError(f"cannot load the saved local cloud state {persistence.snapshot_path(ctx.state_dir)}: "
                           f"{exc}; `hivemind local down --purge` forgets it (and every deployment)") from exc
    loaded_s = time.monotonic() - started
    aborted = sfn_extensions.abort_interrupted(
        "The HiveMind local cloud stopped while this execution ran; its work was interrupted.")
    stacks = cfn_extensions.fail_interrupted(
        "The HiveMind local cloud stopped during this stack operation; it did not finish.")
    instances = agent.restore(ctx)
    ports = proxy.restore(ctx)
    databases = rds.restore(ctx)
    log.info("restored %d emulator services in %.2f s (%.2f s with proxies, databases and sandboxes): "
             "%d instance(s), %d load balancer(s) on ports %s, %d database(s); executions aborted: %s; "
             "stack operations ended: %s",
             len(names), loaded_s, time.monotonic() - started, len(instances), len(ports),
             sorted(ports.values()), len(databases), aborted or "none", stacks or "none")
    return instances


def _after_restore(instances: list[str]) -> None:
    """Once the emulator serves: restart the apps (background) and mark interrupted deployments."""
    from hivemind.local import agent
    from hivemind.logic.ports import default_ports
    from hivemind.logic.recovery import reconcile_interrupted

    agent.restart_apps(instances)
    try:
        marked = reconcile_interrupted(default_ports())
    except Exception:  # noqa: BLE001 - the cloud still serves; the log names the failure
        log.exception("marking interrupted deployments failed")
        return
    log.info("deployments interrupted by the stop, now failed: %s", marked or "none")


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    state_dir = args.state_dir.expanduser().resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    from hivemind.local.context import DEFAULT_SPEED
    from hivemind.local.procs import free_port

    try:
        speed = args.speed or float(os.environ.get("HIVEMIND_LOCAL_SPEED") or DEFAULT_SPEED)
    except ValueError:
        print(f"HIVEMIND_LOCAL_SPEED must be a number, got {os.environ.get('HIVEMIND_LOCAL_SPEED')!r}",
              file=sys.stderr)
        return 2
    if speed <= 0:
        print(f"--speed / HIVEMIND_LOCAL_SPEED must be positive, got {speed}", file=sys.stderr)
        return 2
    port = args.port or free_port(HOST)
    if not _port_free(port):
        print(f"cannot serve on http://{HOST}:{port}: the port is in use; choose another --port (or 0)",
              file=sys.stderr)
        return 1
    ctx = LocalContext(state_dir=state_dir, port=port, speed=speed)
    set_context(ctx)
    _configure_logging(ctx.logs_dir)
    configure_environment(ctx)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        serve(ctx, stop)
    except OSError as exc:
        log.error("cannot serve on %s: %s", ctx.endpoint_url, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
