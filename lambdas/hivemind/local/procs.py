"""Process helpers shared by the local cloud: liveness, process groups, free ports.

Everything the local cloud starts (the server, app processes, command scripts, PostgreSQL)
runs in its own process group so it can be stopped as a whole. Liveness checks look at
``/proc`` so a zombie (exited, not yet reaped) counts as gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

PROC = Path("/proc")


def _state(pid: int) -> str | None:
    """The one-letter state of ``pid`` from /proc (``None`` when there is no such process)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command may contain spaces and parentheses: the state follows the last ')'
    return stat.rsplit(")", 1)[1].split()[0]


def _reap(pid: int) -> None:
    """Reap ``pid`` if it is our exited child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie is not alive)."""
    if pid <= 0:
        return False
    _reap(pid)
    state = _state(pid)
    return state is not None and state not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid``."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields: state ppid pgrp ...
        if fields[0] not in ("Z", "X") and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop_group(pgid: int, *, timeout: float = 5.0) -> bool:
    """SIGTERM the process group, wait up to ``timeout`` s, then SIGKILL. True if it had members.

    Used for app processes (pid files), command scripts and the server itself: an app gets the
    chance to shut down cleanly, and nothing can outlive a stop.
    """
    if pgid <= 1 or pgid == os.getpgid(0):
        raise ValueError(f"refusing to signal process group {pgid} (ours or init)")
    if not group_members(pgid):
        _reap(pgid)
        return False
    _signal_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pgid)
        if not group_members(pgid):
            return True
        time.sleep(0.05)
    _signal_group(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while group_members(pgid) and time.monotonic() < deadline:
        _reap(pgid)
        time.sleep(0.05)
    return True


def belongs_to(pid: int, marker: str) -> bool:
    """True when ``marker`` (a sandbox path) is in the process's command line, cwd or environment.

    A pid file can outlive its process and the pid be reused by an unrelated program; this is
    checked before any signal is sent.
    """
    base = PROC / str(pid)
    with contextlib.suppress(OSError):
        if marker in (base / "cmdline").read_bytes().decode(errors="replace"):
            return True
    with contextlib.suppress(OSError):
        if os.readlink(base / "cwd").startswith(marker):
            return True
    with contextlib.suppress(OSError):
        if marker in (base / "environ").read_bytes().decode(errors="replace"):
            return True
    return False


def stop_pid_file(pid_file: Path, *, timeout: float = 5.0, marker: str | None = None) -> int | None:
    """Stop the process group of the pid in ``pid_file`` (its own group if it leads one).

    With ``marker``, only a process that ``belongs_to`` it is stopped. Returns the pid that was
    stopped, or None when the file held no live (matching) process.
    """
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if not pid_alive(pid) or (marker is not None and not belongs_to(pid, marker)):
        return None
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return None
    if pgid == os.getpgid(0):
        # Started without its own group (should not happen: scripts use setsid): stop the pid only.
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
        return pid
    stop_group(pgid, timeout=timeout)
    return pid


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
