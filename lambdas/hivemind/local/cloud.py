"""What the CLI calls to run the local cloud: ``up``, ``down``, ``status``, ``ensure_running``.

The server (``python -m hivemind.local.server``) runs detached in its own session, so it
outlives the CLI command that started it. Its state directory holds:

- ``cloud.json``   written by the server once it serves and the control plane exists (readiness);
- ``server.pid``   written here at spawn, so even a server that never became ready can be stopped;
- ``logs/``        ``server.log`` (the server's output), ``requests.log`` (emulator requests);
- ``emulator/state.pickle``  the emulator's state (``persistence``), restored by the next ``up``;
- ``instances/``, ``rds/``, ``rds-snapshots/``, ``work/`` (see the adapters).

``down`` keeps all of it (apps, proxies and databases stop, their files stay); ``down(purge=True)``
(``hivemind local down --purge``) removes it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from hivemind.errors import HiveMindError
from hivemind.local import procs
from hivemind.local.context import DUMMY_CREDENTIALS, REGION, default_state_dir

READY_FILE = "cloud.json"
PID_FILE = "server.pid"
LOCK_FILE = ".lock"
SERVER_LOG = "server.log"
UP_TIMEOUT_S = 90.0
DOWN_TIMEOUT_S = 60.0


class LocalCloudError(HiveMindError):
    """The local cloud could not be started, reached or stopped."""

    stage = "local"
    remediation = (
        "Read the server log named in the message; `hivemind local down` then `hivemind local up` "
        "restarts the local cloud."
    )


class LocalCloud(BaseModel):
    endpoint_url: str
    port: int
    pid: int
    state_dir: Path
    started_at: datetime


def _state_dir(state_dir: Path | None) -> Path:
    return (state_dir or default_state_dir()).expanduser().resolve()


def _log_tail(state_dir: Path, lines: int = 40) -> str:
    path = state_dir / "logs" / SERVER_LOG
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialize up/down on one state directory (two CLI commands starting it at once)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _answers(endpoint_url: str) -> bool:
    """True when the emulator's own API answers (not just any process on the port)."""
    try:
        with urllib.request.urlopen(f"{endpoint_url}/moto-api/config", timeout=2) as resp:
            return 200 <= resp.status < 300  # moto answers 201
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_ready(state_dir: Path) -> LocalCloud | None:
    try:
        return LocalCloud.model_validate_json((state_dir / READY_FILE).read_text())
    except (OSError, ValueError):
        return None


def _read_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _is_server(pid: int | None, state_dir: Path) -> bool:
    """True when ``pid`` is alive AND is this state directory's server (a recycled pid is not)."""
    if pid is None or not procs.pid_alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode(errors="replace") for a in argv]
    return "hivemind.local.server" in words and str(state_dir) in words


def _forget(state_dir: Path) -> None:
    for name in (READY_FILE, PID_FILE):
        with contextlib.suppress(FileNotFoundError):
            (state_dir / name).unlink()


def status(state_dir: Path | None = None) -> LocalCloud | None:
    """The running local cloud of ``state_dir``, or None (a stale record of a dead server is removed)."""
    root = _state_dir(state_dir)
    cloud = _read_ready(root)
    if cloud is None:
        pid = _read_pid(root)
        if pid is not None and not _is_server(pid, root):
            _forget(root)
        return None
    if not _is_server(cloud.pid, root):
        _forget(root)
        return None
    if not _answers(cloud.endpoint_url):
        return None
    return cloud


def up(state_dir: Path | None = None, port: int | None = None, *, timeout: float = UP_TIMEOUT_S) -> LocalCloud:
    """Start the local cloud (or return the one already running on this state directory).

    ``port`` None lets the server pick a free loopback port. Waits at most ``timeout`` seconds
    for readiness; on failure the half-started server is stopped and the log tail is in the error.
    """
    if port is not None and not 0 <= port <= 65535:
        raise LocalCloudError(f"port {port} is not a TCP port", remediation="Give a port in 1-65535, or none.")
    root = _state_dir(state_dir)
    with _locked(root):
        running = status(root)
        if running is not None:
            return running
        old_pid = _read_pid(root)
        if _is_server(old_pid, root):
            # A server that never became ready (or stopped answering): replace it.
            _stop_server(old_pid, DOWN_TIMEOUT_S)
        _forget(root)
        (root / "logs").mkdir(parents=True, exist_ok=True)
        log_path = root / "logs" / SERVER_LOG
        cmd = [sys.executable, "-m", "hivemind.local.server", "--port", str(port or 0), "--state-dir", str(root)]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True, cwd=str(root),
            )
        (root / PID_FILE).write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                _forget(root)
                raise LocalCloudError(
                    f"the local cloud server exited with code {proc.returncode} before it was ready; "
                    f"log {log_path}:\n{_log_tail(root)}"
                )
            cloud = _read_ready(root)
            if cloud is not None and cloud.pid == proc.pid and _answers(cloud.endpoint_url):
                return cloud
            time.sleep(0.1)
        _stop_server(proc.pid, 10)
        _forget(root)
        raise LocalCloudError(
            f"the local cloud server did not become ready within {timeout:.0f} s; log {log_path}:\n{_log_tail(root)}"
        )


def _stop_server(pid: int, timeout: float) -> None:
    """SIGTERM the server (it stops apps, proxies and databases itself), SIGKILL after ``timeout``."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    if pgid == os.getpgid(0):
        raise LocalCloudError(f"pid {pid} is not a detached local cloud server (it shares our process group)")
    procs.stop_group(pgid, timeout=timeout)


def down(state_dir: Path | None = None, *, timeout: float = DOWN_TIMEOUT_S, purge: bool = False) -> bool:
    """Stop the local cloud of ``state_dir``; True if a server was running.

    The emulator state, sandboxes and database data stay for the next ``up``. With ``purge``
    they are removed too (and any process a crashed server left in a sandbox or database is
    stopped): the next ``up`` starts empty.
    """
    root = _state_dir(state_dir)
    with _locked(root):
        cloud = _read_ready(root)
        pid = cloud.pid if cloud else _read_pid(root)
        stopped = False
        if _is_server(pid, root):
            _stop_server(pid, timeout)  # type: ignore[arg-type]
            stopped = True
        _forget(root)
        if purge:
            _purge(root)
        return stopped


def _purge(root: Path) -> None:
    """Forget everything: the emulator snapshot, sandboxes (and their processes), DB data, DB snapshots."""
    import shutil

    from hivemind.local import agent, persistence, rds
    from hivemind.local.context import LocalContext

    ctx = LocalContext(state_dir=root, port=0)
    agent.cleanup_stale(ctx)
    rds.cleanup_stale(ctx)
    persistence.remove(root)
    shutil.rmtree(ctx.snapshots_dir, ignore_errors=True)


def ensure_running(state_dir: Path | None = None) -> LocalCloud:
    """The running local cloud, started if needed (what `hivemind deploy --local` calls)."""
    return status(state_dir) or up(state_dir)


def client_env(cloud: LocalCloud) -> dict[str, str]:
    """Environment a CLI or test process sets to talk to ``cloud`` (AWS SDKs and HiveMind settings).

    Also unset AWS_PROFILE / AWS_SESSION_TOKEN in that process: they would override the
    dummy credentials.
    """
    from hivemind.local.control_plane import function_environment

    env = {key: value for key, value in function_environment().items() if key.startswith("HIVEMIND_")}
    env.update(DUMMY_CREDENTIALS)
    env.update(
        {
            "AWS_ENDPOINT_URL": cloud.endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "HIVEMIND_LOCAL_DIR": str(cloud.state_dir),
        }
    )
    return env


DEPLOYMENT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
APP_LOG_MAX_CHARS = 64_000


def app_logs(deployment_id: str, state_dir: Path | None = None, *, max_chars: int = APP_LOG_MAX_CHARS) -> dict[str, str]:
    """The app's stdout/stderr on every local instance: {"<instance-id>/app.log": last max_chars}.

    The install script writes ``$HIVEMIND_ROOT/var/log/hivemind/<deployment-id>/app.log``; each
    instance's sandbox is its HIVEMIND_ROOT.
    """
    if not DEPLOYMENT_ID.match(deployment_id or ""):
        raise LocalCloudError(f"deployment id {deployment_id!r} is not valid (lowercase letters, digits, '-')",
                              remediation="Use the id printed by `hivemind deploy` or `hivemind list`.")
    root = _state_dir(state_dir) / "instances"
    logs: dict[str, str] = {}
    if not root.is_dir():
        return logs
    for sandbox in sorted(p for p in root.iterdir() if p.is_dir()):
        log_dir = sandbox / "var" / "log" / "hivemind" / deployment_id
        for path in sorted(log_dir.glob("*.log")) if log_dir.is_dir() else []:
            with contextlib.suppress(OSError):
                text = path.read_text(errors="replace")
                logs[f"{sandbox.name}/{path.name}"] = text[-max_chars:]
    return logs


def describe(cloud: LocalCloud) -> dict[str, object]:
    """A JSON-able summary for `hivemind local status --json`."""
    return json.loads(cloud.model_dump_json())
