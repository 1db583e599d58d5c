"""EC2 instances as sandbox directories, and a local SSM agent that really runs Run Command.

moto behaviours adapted (each patch is installed by ``install``):

- ``ec2 Instance.__init__``: every instance moto creates (RunInstances, or an Auto Scaling group
  launched through CloudFormation) gets a sandbox directory ``<state>/instances/<instance-id>/``
  and its own loopback address ``127.a.b.c`` (never 127.0.0.1) as its private IP, so an app that
  binds 127.0.0.1 only is unreachable through the load balancer, exactly as on EC2. Addresses are
  allocated from a persisted counter (``instances/ips.json``): unique for the state directory.
  User data is NOT run: it targets the host (/etc, systemd); its only job on EC2 is to make sure
  the SSM agent runs, which this module is.
- ``ec2 InstanceBackend.run_instances``: the launch template's "volume" and "network-interface"
  TagSpecifications are applied (moto applies the "instance" ones only).
- ``ec2 Instance.terminate`` / ``stop``: the instance's app processes (pid files under
  ``<sandbox>/run/hivemind/*.pid``) are stopped (SIGTERM to the process group, SIGKILL after a
  grace period) and, on terminate, the sandbox is removed.
- ``ssm send_command``: moto marks every invocation "Success" at once without running anything.
  Here each targeted instance (InstanceIds, or Targets by tag) runs the document's commands,
  rendered by ``hivemind.scripts.documents.render_commands`` (which enforces each parameter's
  ``allowedPattern``: a violation fails SendCommand with ``InvalidParameters`` as SSM does), as
  ``bash <script>`` in a worker thread with cwd = the sandbox and the env described in
  ``_command_env``. The step's ``timeoutSeconds`` (``render_timeout``; default 3600 s) kills the
  script's process group -> ``TimedOut``. Like ``render_commands``, only the first step runs. Status,
  ResponseCode, StandardOutputContent (last 24,000 chars) and StandardErrorContent (last 8,000)
  reach ``GetCommandInvocation`` and ``ListCommandInvocations`` exactly as SSM reports them.
- ``ssm list_command_invocations``, ``describe_instance_information``, ``cancel_command``: not
  in moto; added to its SSM responses.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hivemind import constants
from hivemind.local import procs
from hivemind.local.context import DUMMY_CREDENTIALS, REGION, LocalContext, get_context

log = logging.getLogger("hivemind.local.agent")

STDOUT_LIMIT = 24_000  # GetCommandInvocation StandardOutputContent
STDERR_LIMIT = 8_000  # GetCommandInvocation StandardErrorContent
LIST_OUTPUT_LIMIT = 2_500  # ListCommandInvocations CommandPlugins[].Output
DEFAULT_EXECUTION_TIMEOUT_S = 3600
APP_STOP_GRACE_S = 10.0
IP_FILE = "ips.json"
MAX_FINISHED_RUNS = 500
AGENT_VERSION = "3.3.0.0"
INSTANCE_ID = re.compile(r"^(i|mi)-[0-9a-f]{8,17}$")
# Which state directory holds which loopback address, machine-wide: <dir>/<ip> names its ips.json.
RESERVATIONS_DIR = Path(tempfile.gettempdir()) / "hivemind-local-ips"

# Variables passed from the server's environment to commands: locale and the package tools'
# configuration (a pip index or wheelhouse, an npm registry, Go's module settings), so a build
# in a sandbox uses the same sources and caches as one run by hand on this machine.
PASSTHROUGH_PREFIXES = ("PIP_", "UV_", "POETRY_", "PIPENV_", "NPM_CONFIG_", "npm_config_", "YARN_", "GO", "CGO_")
PASSTHROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL", "TMPDIR", "XDG_CACHE_HOME",
               "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "NODE_OPTIONS", "COREPACK_ENABLE_DOWNLOAD_PROMPT")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


# --- instances: addresses and sandboxes -------------------------------------------------------
class IpAllocator:
    """Deterministically unique loopback addresses, one per instance, persisted as JSON.

    The n-th instance of a state directory gets 127.(1 + n // 65024).(n // 254 % 256).(n % 254 + 1):
    never 127.0.0.x (127.0.0.1 is the host's), never .0 or .255 as the last octet.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            data = json.loads(path.read_text())
            self.next = int(data["next"])
            self.ips: dict[str, str] = dict(data["ips"])
        except (OSError, ValueError, KeyError):
            self.next = 0
            self.ips = {}

    @staticmethod
    def address(n: int) -> str:
        a = 1 + n // (254 * 256)
        if a > 254:
            raise RuntimeError("the local cloud ran out of loopback addresses; remove its state directory")
        return f"127.{a}.{n // 254 % 256}.{n % 254 + 1}"

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"next": self.next, "ips": self.ips}, indent=1, sort_keys=True))
        tmp.replace(self.path)

    def allocate(self, instance_id: str) -> str:
        """A fresh address, skipping any that something on this machine already listens on or
        that another local cloud (another state directory, which numbers its instances the same
        way) holds: its apps are down while it is down, but it gets the address back at `up`."""
        with self.lock:
            if instance_id not in self.ips:
                busy = listening_ips()
                while self.address(self.next) in busy or self._held_elsewhere(self.address(self.next)):
                    self.next += 1
                self.ips[instance_id] = self.address(self.next)
                self.next += 1
                self._save()
                self._reserve(self.ips[instance_id])
            return self.ips[instance_id]

    def _reservation(self, ip: str) -> Path:
        return RESERVATIONS_DIR / ip

    def _held_elsewhere(self, ip: str) -> bool:
        """True when another state directory's ips.json (still present) lists ``ip``."""
        try:
            owner = Path(self._reservation(ip).read_text().strip())
        except OSError:
            return False
        if owner == self.path:
            return False
        try:
            return ip in json.loads(owner.read_text()).get("ips", {}).values()
        except (OSError, ValueError, AttributeError):
            return False  # the owner is gone: the reservation is stale

    def _reserve(self, ip: str) -> None:
        with contextlib.suppress(OSError):
            RESERVATIONS_DIR.mkdir(parents=True, exist_ok=True)
            tmp = self._reservation(ip).with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(str(self.path))
            tmp.replace(self._reservation(ip))

    def _unreserve(self, ip: str) -> None:
        with contextlib.suppress(OSError):
            if Path(self._reservation(ip).read_text().strip()) == self.path:
                self._reservation(ip).unlink()

    def release(self, instance_id: str) -> None:
        with self.lock:
            ip = self.ips.pop(instance_id, None)
            if ip is not None:
                self._save()
                self._unreserve(ip)

    def release_all(self) -> None:
        with self.lock:
            for ip in self.ips.values():
                self._unreserve(ip)
            self.ips.clear()
            self._save()


def listening_ips() -> set[str]:
    """IPv4 addresses with a listening TCP socket (from /proc/net/tcp; empty where it is absent)."""
    found: set[str] = set()
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return found
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
            hex_ip = fields[1].split(":")[0]
            found.add(".".join(str(int(hex_ip[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


_allocator: IpAllocator | None = None
_allocator_lock = threading.Lock()


def allocator(ctx: LocalContext | None = None) -> IpAllocator:
    global _allocator
    with _allocator_lock:
        ctx = ctx or get_context()
        path = ctx.instances_dir / IP_FILE
        if _allocator is None or _allocator.path != path:
            _allocator = IpAllocator(path)
        return _allocator


def sandbox_path(instance_id: str, ctx: LocalContext | None = None) -> Path:
    if not INSTANCE_ID.match(instance_id):
        raise ValueError(f"not an instance id: {instance_id!r}")
    return (ctx or get_context()).instances_dir / instance_id


def instance_ip(instance_id: str) -> str | None:
    return allocator().ips.get(instance_id)


def _set_private_ip(instance: Any, ip: str) -> None:
    """Make ``ip`` the primary private address of the instance's first network interface."""
    nic = instance.nics.get(0) if isinstance(instance.nics, dict) else None
    if nic is None:
        return
    old = nic.private_ip_address
    if old and old != ip:
        with contextlib.suppress(Exception):
            nic.subnet.del_subnet_ip(old)
        instance._private_ips.discard(old)
    nic.private_ip_address = ip
    nic.private_ip_addresses = [
        {**entry, "PrivateIpAddress": ip} if entry.get("Primary") or entry.get("PrivateIpAddress") == old else entry
        for entry in (nic.private_ip_addresses or [{"Primary": True}])
    ]
    if not any(e.get("PrivateIpAddress") == ip for e in nic.private_ip_addresses):
        nic.private_ip_addresses.insert(0, {"Primary": True, "PrivateIpAddress": ip})


def _tag_from_launch_template(instance: Any, ec2_backend: Any, launch_template: Any) -> None:
    """Apply the launch template's "volume" and "network-interface" TagSpecifications.

    moto applies only the "instance" ones; EC2 tags the volumes and interfaces it creates at
    launch too, which is what lets a tag search find them.
    """
    if not launch_template:
        return
    with contextlib.suppress(Exception):
        version = ec2_backend._get_template_from_args(launch_template)
        for spec in version.data.get("TagSpecifications") or []:
            tags = {t["Key"]: t["Value"] for t in spec.get("Tags") or []}
            if not tags:
                continue
            if spec.get("ResourceType") == "volume":
                ids = [device.volume_id for device in instance.block_device_mapping.values()]
            elif spec.get("ResourceType") == "network-interface":
                ids = [nic.id for nic in instance.nics.values()]
            else:
                continue
            if ids:
                ec2_backend.create_tags(ids, tags)


def on_launch(instance: Any) -> None:
    ctx = get_context()
    ip = allocator(ctx).allocate(instance.id)
    _set_private_ip(instance, ip)
    sandbox = sandbox_path(instance.id, ctx)
    (sandbox / "var" / "lib" / "amazon" / "ssm").mkdir(parents=True, exist_ok=True)
    (sandbox / "run" / "hivemind").mkdir(parents=True, exist_ok=True)
    (sandbox / ".instance.json").write_text(json.dumps({"instance_id": instance.id, "private_ip": ip,
                                                        "launched_at": _now().isoformat()}))
    log.info("instance %s launched: sandbox %s, address %s", instance.id, sandbox, ip)


def stop_apps(instance_id: str) -> list[int]:
    """Stop every app process of the instance (its pid files); return the pids stopped."""
    run_dir = sandbox_path(instance_id) / "run" / "hivemind"
    stopped = []
    marker = str(sandbox_path(instance_id))
    for pid_file in sorted(run_dir.glob("*.pid")) if run_dir.is_dir() else []:
        pid = procs.stop_pid_file(pid_file, timeout=APP_STOP_GRACE_S, marker=marker)
        if pid is not None:
            stopped.append(pid)
    return stopped


def on_terminate(instance_id: str) -> None:
    for run in _runs_for(instance_id):
        run.cancel("Failed", "Undeliverable")
    stopped = stop_apps(instance_id)
    sandbox = sandbox_path(instance_id)
    shutil.rmtree(sandbox, ignore_errors=True)
    allocator().release(instance_id)
    log.info("instance %s terminated: stopped %s, removed %s", instance_id, stopped or "no processes", sandbox)


# --- Run Command -------------------------------------------------------------------------------
@dataclass
class CommandRun:
    """One command on one instance: the worker thread updates moto's invocation dict in place."""

    command: Any  # moto.ssm.models.Command
    invocation: dict[str, Any]
    instance_id: str
    script: str
    timeout_s: int
    plugin: str
    process: subprocess.Popen[bytes] | None = None
    cancelled: tuple[str, str] | None = None  # (Status, StatusDetails) to report once stopped
    started: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def workdir(self) -> Path:
        return (sandbox_path(self.instance_id) / "var" / "lib" / "amazon" / "ssm" / self.instance_id / "document"
                / "orchestration" / self.command.command_id / self.plugin)

    def update(self, **values: Any) -> None:
        with _state_lock:
            self.invocation.update(values)
            _refresh_command(self.command)

    def cancel(self, status: str = "Cancelled", details: str = "Cancelled") -> None:
        """CancelCommand (Cancelled), or the instance went away (Failed / Undeliverable)."""
        with self.lock:
            self.cancelled = (status, details)
            process = self.process
        if process is not None and process.poll() is None:
            procs.stop_group(process.pid, timeout=2.0)
        elif self.invocation["Status"] in ("Pending", "Delayed"):
            self.update(Status=status, StatusDetails=details, ResponseCode=-1)


_runs: list[CommandRun] = []
_state_lock = threading.RLock()


def _runs_for(instance_id: str) -> list[CommandRun]:
    with _state_lock:
        return [r for r in _runs if r.instance_id == instance_id and r.invocation["Status"] in _ACTIVE]


_ACTIVE = ("Pending", "InProgress", "Delayed", "Cancelling")


def _refresh_command(command: Any) -> None:
    """Command-level Status and counts from its invocations (as ListCommands reports them)."""
    statuses = [i["Status"] for i in command.invocations]
    command.completed_count = sum(s not in _ACTIVE for s in statuses)
    command.error_count = sum(s in ("Failed", "TimedOut") for s in statuses)
    if not statuses:
        command.status, command.status_details = "Success", "Success"
    elif any(s in _ACTIVE for s in statuses):
        running = any(s != "Pending" for s in statuses)
        command.status = "InProgress" if running else "Pending"
        command.status_details = "In Progress" if running else "Pending"
    elif all(s == "Success" for s in statuses):
        command.status, command.status_details = "Success", "Success"
    elif any(s == "TimedOut" for s in statuses):
        command.status, command.status_details = "TimedOut", "Execution Timed Out"
    elif all(s == "Cancelled" for s in statuses):
        command.status, command.status_details = "Cancelled", "Cancelled"
    else:
        command.status, command.status_details = "Failed", "Failed"


def _tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit * 4))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return text[-limit:]


def _command_env(instance_id: str, ctx: LocalContext) -> dict[str, str]:
    """What a command sees: the sandbox as its root, the instance's address, the emulator's endpoint."""
    env = {k: v for k, v in os.environ.items() if k in PASSTHROUGH or k.startswith(PASSTHROUGH_PREFIXES)}
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    env.setdefault("HOME", str(Path.home()))
    env.update(DUMMY_CREDENTIALS)
    env.update({
        "HIVEMIND_ROOT": str(sandbox_path(instance_id, ctx)),
        "HIVEMIND_BIND_HOST": instance_ip(instance_id) or "",
        "AWS_ENDPOINT_URL": ctx.endpoint_url,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_SSM_INSTANCE_ID": instance_id,
        "AWS_SSM_REGION_NAME": REGION,
    })
    return env


def _execute(run: CommandRun) -> None:
    ctx = get_context()
    workdir = run.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    script = workdir / "_script.sh"
    script.write_text(run.script)
    stdout_path, stderr_path = workdir / "stdout", workdir / "stderr"
    start = _now()
    run.started = time.monotonic()
    with run.lock:
        if run.cancelled:
            run.update(Status=run.cancelled[0], StatusDetails=run.cancelled[1], ResponseCode=-1)
            return
        with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
            # Files, not pipes: an app the script starts in the background inherits them and
            # would keep a pipe open forever.
            run.process = subprocess.Popen(  # noqa: S603 - runs the rendered, validated document
                ["/bin/bash", str(script)], cwd=str(sandbox_path(run.instance_id, ctx)),
                env=_command_env(run.instance_id, ctx), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                start_new_session=True,
            )
    run.update(Status="InProgress", StatusDetails="In Progress", ExecutionStartDateTime=start.isoformat())
    timed_out = False
    try:
        code = run.process.wait(timeout=run.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        procs.stop_group(run.process.pid, timeout=2.0)
        code = run.process.wait()
    # Processes the script left running (its app) keep running, as with the SSM agent; they are
    # stopped through their pid files when the instance stops or terminates.
    elapsed = time.monotonic() - run.started
    result: dict[str, Any] = {
        "ExecutionEndDateTime": _now().isoformat(),
        "ExecutionElapsedTime": _iso_duration(elapsed),
        "StandardOutputContent": _tail(stdout_path, STDOUT_LIMIT),
        "StandardErrorContent": _tail(stderr_path, STDERR_LIMIT),
    }
    if timed_out:
        result.update(Status="TimedOut", StatusDetails="Execution Timed Out", ResponseCode=-1)
    elif run.cancelled:
        result.update(Status=run.cancelled[0], StatusDetails=run.cancelled[1], ResponseCode=-1)
    elif code == 0:
        result.update(Status="Success", StatusDetails="Success", ResponseCode=0)
    else:
        result.update(Status="Failed", StatusDetails="Failed", ResponseCode=code)
    run.update(**result)
    log.info("command %s on %s: %s (exit %s) in %.1f s", run.command.command_id, run.instance_id,
             result["Status"], code, elapsed)


def _document(backend: Any, name: str, version: str | None) -> tuple[dict[str, Any], str]:
    from moto.ssm.exceptions import InvalidDocument

    try:
        documents = backend._get_documents(name)
    except InvalidDocument:
        raise _error("InvalidDocument", f"Document {name} does not exist.") from None
    if version in (None, "", "$DEFAULT"):
        doc = documents.get_default_version()
    elif version == "$LATEST":
        doc = documents.get_latest_version()
    elif version in documents.versions:
        doc = documents.versions[version]
    else:
        raise _error("InvalidDocumentVersion", f"Document {name} has no version {version}.")
    return doc.content_json, doc.document_version


def _error(code: str, message: str) -> Exception:
    """An SSM API error (the exception's module tells moto which service's error shapes to use)."""
    from moto.ssm.exceptions import SSMException

    return SSMException(code, message)


def _execution_timeout(document: dict[str, Any], parameters: dict[str, list[str]]) -> int:
    """The run's time limit: the first step's ``timeoutSeconds`` after substitution (SSM default 3600)."""
    from hivemind.errors import InvalidInput
    from hivemind.scripts.documents import render_timeout

    try:
        seconds = render_timeout(document, parameters)
    except (InvalidInput, ValueError) as exc:
        raise _error("InvalidParameters", f"timeoutSeconds: {exc}") from None
    return seconds if seconds > 0 else DEFAULT_EXECUTION_TIMEOUT_S


def _render(document: dict[str, Any], parameters: dict[str, list[str]]) -> list[str]:
    from hivemind.errors import InvalidInput
    from hivemind.scripts.documents import render_commands

    try:
        return render_commands(document, parameters)
    except InvalidInput as exc:
        raise _error("InvalidParameters", str(exc)) from None


def _targets_ok(backend: Any, instance_ids: list[str]) -> None:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    for instance_id in instance_ids:
        instance = ec2.get_instance_by_id(instance_id)
        if instance is None or instance.state != "running" or not sandbox_path(instance_id).is_dir():
            raise _error("InvalidInstanceId", f"Instance {instance_id} is not in a valid state for account "
                                              f"{backend.account_id} (it must exist, be running and have the "
                                              f"SSM agent online).")


def _running_target_ids(command: Any) -> list[str]:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[command.account_id][command.backend_region]
    keep = []
    for instance_id in command.instance_ids:
        instance = ec2.get_instance_by_id(instance_id)
        if instance is not None and instance.state == "running" and sandbox_path(instance_id).is_dir():
            keep.append(instance_id)
    return sorted(keep)


def _send_command(self: Any, **kwargs: Any) -> Any:
    """Replacement for ``SimpleSystemManagerBackend.send_command`` (same keyword arguments)."""
    name = kwargs.get("document_name") or ""
    parameters = {k: [str(x) for x in (v if isinstance(v, list) else [v])]
                  for k, v in (kwargs.get("parameters") or {}).items()}
    kwargs["parameters"] = parameters
    document, version = _document(self, name, kwargs.pop("document_version", None))
    commands = _render(document, parameters)
    timeout_s = _execution_timeout(document, parameters)
    _targets_ok(self, list(kwargs.get("instance_ids") or []))
    command = _original_send_command(self, **kwargs)
    command.instance_ids = _running_target_ids(command)
    command.target_count = len(command.instance_ids)
    steps = [s for s in document.get("mainSteps", []) if s.get("action") == "aws:runShellScript"]
    plugin = steps[0].get("name", "aws:runShellScript") if steps else "aws:runShellScript"
    script = "#!/bin/bash\n" + "\n".join(commands) + "\n"
    runs = []
    with _state_lock:
        command.invocations = []
        for instance_id in command.instance_ids:
            invocation = command.invocation_response(instance_id, plugin)
            invocation.update(
                Status="Pending", StatusDetails="Pending", ResponseCode=-1, DocumentVersion=version,
                ExecutionStartDateTime="", ExecutionEndDateTime="", ExecutionElapsedTime="",
                StandardOutputContent="", StandardErrorContent="",
            )
            command.invocations.append(invocation)
            runs.append(CommandRun(command, invocation, instance_id, script, timeout_s, plugin))
        command.document_version = version
        _refresh_command(command)
        # Keep the finished runs of the last MAX_FINISHED_RUNS only (moto keeps the commands).
        finished = [r for r in _runs if r.invocation["Status"] not in _ACTIVE]
        for old in finished[:max(0, len(finished) - MAX_FINISHED_RUNS)]:
            _runs.remove(old)
        _runs.extend(runs)
    for run in runs:
        threading.Thread(target=_execute, args=(run,), name=f"ssm-{command.command_id[:8]}-{run.instance_id}",
                         daemon=True).start()
    return command


_original_send_command: Any = None


# --- responses moto lacks ----------------------------------------------------------------------
def _list_command_invocations(self: Any) -> Any:
    """SSM ListCommandInvocations (with Details: CommandPlugins and their Output)."""
    from moto.core.responses import ActionResult

    command_id = self._get_param("CommandId")
    instance_id = self._get_param("InstanceId")
    details = bool(self._get_param("Details", False))
    commands = self.ssm_backend.list_commands(command_id, None)
    result = []
    with _state_lock:
        for command in commands:
            for inv in command.invocations:
                if instance_id and inv["InstanceId"] != instance_id:
                    continue
                entry: dict[str, Any] = {
                    "CommandId": command.command_id, "InstanceId": inv["InstanceId"], "InstanceName": "",
                    "Comment": command.comment, "DocumentName": command.document_name,
                    "DocumentVersion": inv.get("DocumentVersion", "1"),
                    "RequestedDateTime": command.requested_date_time, "Status": inv["Status"],
                    "StatusDetails": inv["StatusDetails"], "StandardOutputUrl": "", "StandardErrorUrl": "",
                    "CommandPlugins": [], "ServiceRole": command.service_role_arn or "",
                }
                if details:
                    plugin: dict[str, Any] = {
                        "Name": inv["PluginName"], "Status": inv["Status"], "StatusDetails": inv["StatusDetails"],
                        "ResponseCode": inv["ResponseCode"],
                        "Output": (inv.get("StandardOutputContent") or "")[-LIST_OUTPUT_LIMIT:],
                        "StandardOutputUrl": "", "StandardErrorUrl": "",
                    }
                    for key, src in (("ResponseStartDateTime", "ExecutionStartDateTime"),
                                     ("ResponseFinishDateTime", "ExecutionEndDateTime")):
                        if inv.get(src):
                            plugin[key] = datetime.fromisoformat(inv[src])
                    entry["CommandPlugins"] = [plugin]
                result.append(entry)
    return ActionResult({"CommandInvocations": result})


def _cancel_command(self: Any) -> Any:
    from moto.core.responses import EmptyResult

    command_id = self._get_param("CommandId")
    instance_ids = self._get_param("InstanceIds") or []
    command = self.ssm_backend.get_command_by_id(command_id)
    with _state_lock:
        runs = [r for r in _runs if r.command is command and (not instance_ids or r.instance_id in instance_ids)]
    for run in runs:
        run.cancel()
    return EmptyResult()


def _describe_instance_information(self: Any) -> Any:
    """SSM DescribeInstanceInformation: every running sandboxed instance is Online."""
    from moto.core.responses import ActionResult
    from moto.ec2.models import ec2_backends

    wanted_ids: set[str] | None = None
    tag_filters: dict[str, set[str]] = {}
    ping: set[str] | None = None
    for flt in (self._get_param("InstanceInformationFilterList") or []):
        if flt.get("key") == "InstanceIds":
            wanted_ids = set(flt.get("valueSet") or [])
    for flt in (self._get_param("Filters") or []):
        key, values = flt.get("Key", ""), set(flt.get("Values") or [])
        if key == "InstanceIds":
            wanted_ids = values
        elif key == "PingStatus":
            ping = values
        elif key.startswith("tag:"):
            tag_filters[key[4:]] = values
    ec2 = ec2_backends[self.current_account][self.region]
    result = []
    for reservation in ec2.all_reservations():
        for instance in reservation.instances:
            if instance.state != "running" or not sandbox_path(instance.id).is_dir():
                continue
            if wanted_ids is not None and instance.id not in wanted_ids:
                continue
            tags = instance.get_tags() if hasattr(instance, "get_tags") else {}
            tag_map = {t["key"]: t["value"] for t in tags} if isinstance(tags, list) else dict(tags or {})
            if any(tag_map.get(k) not in v for k, v in tag_filters.items()):
                continue
            if ping is not None and "Online" not in ping:
                continue
            ip = instance_ip(instance.id) or instance.private_ip
            result.append({
                "InstanceId": instance.id, "PingStatus": "Online", "LastPingDateTime": _now(),
                "AgentVersion": AGENT_VERSION, "IsLatestVersion": True, "PlatformType": "Linux",
                "PlatformName": "Amazon Linux", "PlatformVersion": "2023", "ResourceType": "EC2Instance",
                "IPAddress": ip, "ComputerName": f"ip-{ip.replace('.', '-')}.ec2.internal",
                "RegistrationDate": instance.launch_time if isinstance(instance.launch_time, datetime) else _now(),
                "SourceId": instance.id, "SourceType": "AWS::EC2::Instance",
            })
    return ActionResult({"InstanceInformationList": result})


# --- install / lifecycle -----------------------------------------------------------------------
def install() -> None:
    """Patch moto's EC2 instances and SSM Run Command (call once, in the server process)."""
    global _original_send_command
    from moto.ec2.models.instances import Instance, InstanceBackend
    from moto.ssm.models import SimpleSystemManagerBackend
    from moto.ssm.responses import SimpleSystemManagerResponse

    original_init = Instance.__init__
    original_terminate = Instance.terminate
    original_stop = Instance.stop

    def __init__(self: Any, ec2_backend: Any, *args: Any, **kwargs: Any) -> None:
        existing = set(getattr(ec2_backend, "enis", {}))
        original_init(self, ec2_backend, *args, **kwargs)
        # An interface EC2 creates at launch is deleted at termination (DeleteOnTermination
        # defaults to true); moto leaves it behind "in-use" after its instance and VPC are gone.
        for nic in self.nics.values():
            if nic.id not in existing:
                nic.delete_on_termination = True
        on_launch(self)

    def terminate(self: Any) -> Any:
        if self.state == "terminated":
            # Terminating a terminated instance is a no-op on EC2 (moto would delete its
            # already-deleted network interface again and fail).
            return copy.copy(self._state)
        previous = original_terminate(self)
        on_terminate(self.id)
        return previous

    def stop(self: Any) -> Any:
        previous = original_stop(self)
        stop_apps(self.id)
        return previous

    original_run = InstanceBackend.run_instances

    def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        reservation = original_run(self, *args, **kwargs)
        for instance in reservation.instances:  # volumes exist only once run_instances has added them
            _tag_from_launch_template(instance, self, kwargs.get("launch_template"))
        return reservation

    InstanceBackend.run_instances = run_instances  # type: ignore[method-assign]
    Instance.__init__ = __init__  # type: ignore[method-assign]
    Instance.terminate = terminate  # type: ignore[method-assign]
    Instance.stop = stop  # type: ignore[method-assign]
    if _original_send_command is None:
        _original_send_command = SimpleSystemManagerBackend.send_command
    SimpleSystemManagerBackend.send_command = _send_command  # type: ignore[method-assign]
    SimpleSystemManagerResponse.list_command_invocations = _list_command_invocations  # type: ignore[attr-defined]
    SimpleSystemManagerResponse.cancel_command = _cancel_command  # type: ignore[attr-defined]
    SimpleSystemManagerResponse.describe_instance_information = _describe_instance_information  # type: ignore[attr-defined]


def _stop_sandbox_processes(sandbox: Path) -> list[int]:
    """Stop every process of a sandbox: its apps (pid files) first, then anything else left in it.

    After a crash of the server, app processes and half-run command scripts outlive it. A pid
    file is checked against the sandbox marker before any signal; the sweep then stops what runs
    with the sandbox as its cwd, in its command line or environment (HIVEMIND_ROOT).
    """
    marker = str(sandbox)
    stopped = []
    for pid_file in sorted((sandbox / "run" / "hivemind").glob("*.pid")):
        pid = procs.stop_pid_file(pid_file, timeout=APP_STOP_GRACE_S, marker=marker)
        if pid is not None:
            stopped.append(pid)
    own_group = os.getpgid(0)
    for entry in procs.PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        if not procs.pid_alive(pid) or not procs.belongs_to(pid, marker):
            continue
        with contextlib.suppress(ProcessLookupError, ValueError):
            pgid = os.getpgid(pid)
            if pgid != own_group:
                procs.stop_group(pgid, timeout=2.0)
                stopped.append(pid)
    return stopped


def cleanup_stale(ctx: LocalContext) -> None:
    """Sandboxes whose emulator state is gone (no snapshot, or ``local down --purge``): stop and remove."""
    if not ctx.instances_dir.is_dir():
        return
    for sandbox in ctx.instances_dir.iterdir():
        if sandbox.is_dir() and INSTANCE_ID.match(sandbox.name):
            _stop_sandbox_processes(sandbox)
            shutil.rmtree(sandbox, ignore_errors=True)
            log.info("removed stale sandbox %s", sandbox)
    allocator(ctx).release_all()


def shutdown() -> None:
    """At server stop: cancel running commands and stop every app; sandboxes stay (state is kept).

    ``hivemind local down --purge`` removes them afterwards (``cleanup_stale``).
    """
    ctx = get_context()
    with _state_lock:
        active = [r for r in _runs if r.invocation["Status"] in _ACTIVE]
    for run in active:
        run.cancel("Failed", "Undeliverable")
    if ctx.instances_dir.is_dir():
        for sandbox in ctx.instances_dir.iterdir():
            if sandbox.is_dir() and INSTANCE_ID.match(sandbox.name):
                stop_apps(sandbox.name)


# --- restore after a restart -------------------------------------------------------------------
RESTART_TIMEOUT_S = 900
_INSTALL_DOCUMENTS = (constants.INSTALL_DOCUMENT,)
_STOP_DOCUMENTS = (constants.STOP_DOCUMENT,)


def _ssm_backends() -> list[Any]:
    from moto.ssm.models import ssm_backends

    return [b for account in list(dict.values(ssm_backends)) for b in list(dict.values(account))]


def _running_instances() -> dict[str, Any]:
    from moto.ec2.models import ec2_backends

    found = {}
    for account in list(dict.values(ec2_backends)):
        for backend in list(dict.values(account)):
            for reservation in backend.all_reservations():
                for instance in reservation.instances:
                    if instance.state == "running":
                        found[instance.id] = instance
    return found


def fail_interrupted_commands() -> list[str]:
    """Invocations still Pending/InProgress in the restored state ran in a process that is gone:
    they become Failed / Undeliverable, as SSM reports a command whose instance went away."""
    failed = []
    now = _now().isoformat()
    with _state_lock:
        for backend in _ssm_backends():
            for command in list(backend._commands):
                changed = False
                for invocation in command.invocations:
                    if invocation.get("Status") in _ACTIVE:
                        invocation.update(Status="Failed", StatusDetails="Undeliverable", ResponseCode=-1,
                                          ExecutionEndDateTime=now)
                        failed.append(f"{command.command_id}/{invocation.get('InstanceId')}")
                        changed = True
                if changed:
                    _refresh_command(command)
    return failed


def restore(ctx: LocalContext) -> list[str]:
    """After the emulator state was loaded: re-attach sandboxes; return the instances to restart.

    Every sandbox's left-over processes are stopped (after a crash they are orphans); sandboxes
    the restored emulator does not know (launched after the last snapshot) are removed; the
    running instances keep their address (``ips.json``, re-added from the instance if missing).
    """
    failed = fail_interrupted_commands()
    if failed:
        log.info("commands interrupted by the stop, now Failed/Undeliverable: %s", failed)
    instances = _running_instances()
    alloc = allocator(ctx)
    keep = []
    if ctx.instances_dir.is_dir():
        for sandbox in sorted(ctx.instances_dir.iterdir()):
            if not (sandbox.is_dir() and INSTANCE_ID.match(sandbox.name)):
                continue
            stopped = _stop_sandbox_processes(sandbox)
            if stopped:
                log.info("instance %s: stopped left-over processes %s", sandbox.name, stopped)
            if sandbox.name in instances:
                keep.append(sandbox.name)
            else:
                shutil.rmtree(sandbox, ignore_errors=True)
                alloc.release(sandbox.name)
                log.info("removed sandbox %s: the restored emulator has no running instance %s", sandbox,
                         sandbox.name)
    with alloc.lock:
        for instance_id in keep:
            ip = instances[instance_id].private_ip
            if alloc.ips.get(instance_id) != ip and ip:
                alloc.ips[instance_id] = ip
                alloc._save()
            if alloc.ips.get(instance_id):
                alloc._reserve(alloc.ips[instance_id])
    return keep


def last_install(instance_id: str) -> tuple[Any, dict[str, Any]] | None:
    """The instance's last successful install command, unless a successful stop came after it."""
    found: tuple[Any, dict[str, Any]] | None = None
    for backend in _ssm_backends():
        for command in list(backend._commands):
            name = str(command.document_name or "")
            if not name.endswith(_INSTALL_DOCUMENTS + _STOP_DOCUMENTS):
                continue
            for invocation in command.invocations:
                if invocation.get("InstanceId") == instance_id and invocation.get("Status") == "Success":
                    found = (command, invocation) if name.endswith(_INSTALL_DOCUMENTS) else None
    return found


def _restart_script(command: Any, instance_id: str, plugin: str) -> str:
    """The script the install ran (saved in its orchestration directory), else rendered again."""
    saved = (sandbox_path(instance_id) / "var" / "lib" / "amazon" / "ssm" / instance_id / "document"
             / "orchestration" / command.command_id / plugin / "_script.sh")
    with contextlib.suppress(OSError):
        return saved.read_text()
    backend = next(b for b in _ssm_backends() if command in b._commands)
    document, _ = _document(backend, command.document_name, None)
    parameters = {k: [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in command.parameters.items()}
    return "#!/bin/bash\n" + "\n".join(_render(document, parameters)) + "\n"


def restart_app(instance_id: str) -> bool | None:
    """Re-run the instance's last successful install (same parameters): the script finds the
    release "already unpacked and built", starts the app and checks it. None: nothing to restart."""
    ctx = get_context()
    found = last_install(instance_id)
    if found is None:
        return None
    command, invocation = found
    script = _restart_script(command, instance_id, invocation.get("PluginName") or "installRelease")
    workdir = sandbox_path(instance_id, ctx) / "var" / "lib" / "hivemind-restart"
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "_script.sh").write_text(script)
    with open(workdir / "stdout", "wb") as out, open(workdir / "stderr", "wb") as err:
        process = subprocess.Popen(  # noqa: S603 - the validated script the install already ran
            ["/bin/bash", str(workdir / "_script.sh")], cwd=str(sandbox_path(instance_id, ctx)),
            env=_command_env(instance_id, ctx), stdin=subprocess.DEVNULL, stdout=out, stderr=err,
            start_new_session=True,
        )
    try:
        code = process.wait(timeout=RESTART_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        procs.stop_group(process.pid, timeout=2.0)
        code = process.wait()
    if code == 0:
        log.info("instance %s: app restarted (install %s re-run)", instance_id, command.command_id)
        return True
    log.error("instance %s: restarting the app failed (exit %s); output in %s:\n%s", instance_id, code, workdir,
              _tail(workdir / "stdout", 2000) + _tail(workdir / "stderr", 2000))
    return False


def restart_apps(instance_ids: list[str]) -> list[threading.Thread]:
    """Restart every instance's app in its own thread (the emulator must be serving: the script
    reads the release from S3 and the database secret)."""
    threads = []
    for instance_id in instance_ids:
        thread = threading.Thread(target=restart_app, args=(instance_id,), name=f"restart-{instance_id}",
                                  daemon=True)
        thread.start()
        threads.append(thread)
    return threads
