"""Each RDS PostgreSQL instance is a real PostgreSQL server in the state directory.

moto behaviours adapted (installed by ``install``):

- ``RDSBackend.create_db_instance``: for engine ``postgres`` a real server starts (the host's
  PostgreSQL binaries, newest version under /usr/lib/postgresql/*/bin, or $HIVEMIND_PG_BIN),
  with data in ``<state>/rds/<id>/data``, on a free port of 127.0.0.1, its superuser = the
  master username with the master password (the value CloudFormation resolved from the
  ``{{resolve:secretsmanager:...}}`` reference, see cfn_extensions), and the DB name created.
  ``Endpoint.Address`` becomes 127.0.0.1 and ``Endpoint.Port`` the server's port. Other engines
  fail with ``UnsupportedLocally``. PostgreSQL refuses to run as root: as root, the server runs
  as the system user ``hivemind-pg`` (created if missing) via ``runuser``; when that user cannot
  traverse to the state directory (e.g. it is under /root), the data directory lives under
  ``$TMPDIR/hivemind-pg/`` and ``<state>/rds/<id>/data`` is a symlink to it.
- ``RDSBackend.delete_db_instance``: ``pg_ctl stop -m fast``, data removed (after the final
  snapshot when one is asked for).
- ``RDSBackend.create_db_snapshot`` (manual): ``pg_dump`` of the DB to
  ``<state>/rds-snapshots/<snapshot-id>.sql``; ``delete_db_snapshot`` removes the file;
  ``restore_db_instance_from_db_snapshot`` starts a new server and replays the dump into it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hivemind.local import procs
from hivemind.local.context import HOST, LocalContext, get_context

log = logging.getLogger("hivemind.local.rds")

PG_USER = "hivemind-pg"
PG_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60
SUPPORTED_ENGINES = ("postgres",)
SAFE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,62}$")
SAFE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class LocalDbError(Exception):
    """Raised inside the emulator; becomes an AWS-style error response."""


def _error(code: str, message: str) -> Exception:
    """An RDS API error (the exception's module tells moto which service's error shapes to use)."""
    from moto.rds.exceptions import RDSClientError

    return RDSClientError(code, message)


def pg_bin_dir() -> Path:
    """The PostgreSQL server binaries: $HIVEMIND_PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else PATH."""
    configured = os.environ.get("HIVEMIND_PG_BIN")
    candidates: list[Path] = [Path(configured)] if configured else []
    if PG_ROOT.is_dir():
        versions = sorted((p for p in PG_ROOT.iterdir() if p.name.split(".")[0].isdigit()),
                          key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()], reverse=True)
        candidates += [v / "bin" for v in versions]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).resolve().parent)
    for candidate in candidates:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    raise LocalDbError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin or on PATH; "
        "install them (`apt-get install postgresql`) or set HIVEMIND_PG_BIN"
    )


def _client(name: str) -> str:
    """A client binary (psql, pg_dump, createdb) matching the server when possible."""
    with contextlib.suppress(LocalDbError):
        path = pg_bin_dir() / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if not found:
        raise LocalDbError(f"{name} not found; install the PostgreSQL client (`apt-get install postgresql-client`)")
    return found


def _as_root() -> bool:
    return os.geteuid() == 0


_user_lock = threading.Lock()


def ensure_pg_user() -> pwd.struct_passwd:
    """The unprivileged system user PostgreSQL runs as when we are root (created once)."""
    with _user_lock:
        try:
            return pwd.getpwnam(PG_USER)
        except KeyError:
            pass
        subprocess.run(  # noqa: S603 - fixed argv
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
             "--user-group", PG_USER],
            check=True, capture_output=True, text=True,
        )
        return pwd.getpwnam(PG_USER)


def _traversable_by_other(path: Path) -> bool:
    """True when every directory from / to ``path`` lets other users through (o+x)."""
    current = Path("/")
    for part in path.resolve().parts[1:]:
        current = current / part
        try:
            if not current.stat().st_mode & 0o001:
                return False
        except FileNotFoundError:
            return True
    return True


def _run(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL server tool as the PostgreSQL user (runuser when root)."""
    if _as_root():
        argv = ["runuser", "-u", PG_USER, "--", *argv]
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    full_env.update(env or {})
    return subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout,  # noqa: S603
                          start_new_session=True, cwd="/")


@dataclass
class PgServer:
    identifier: str
    home: Path  # <state>/rds/<id>
    data: Path  # the real data directory (may be outside the state dir)
    port: int
    username: str
    password: str
    db_name: str

    @property
    def meta(self) -> Path:
        return self.home / "server.json"

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password, "PGHOST": HOST, "PGPORT": str(self.port), "PGUSER": self.username,
                "PGCONNECT_TIMEOUT": "5"}

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def running(self) -> bool:
        pid = self.postmaster_pid()
        return pid is not None and procs.pid_alive(pid)


_servers: dict[str, PgServer] = {}
_servers_lock = threading.Lock()


def server_for(identifier: str) -> PgServer | None:
    with _servers_lock:
        return _servers.get(identifier)


def _data_dir(ctx: LocalContext, identifier: str) -> Path:
    home = ctx.rds_dir / identifier
    if not _as_root() or _traversable_by_other(ctx.rds_dir):
        return home / "data"
    digest = hashlib.sha256(str(ctx.state_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "hivemind-pg" / digest / identifier


def _remove_empty_fallback(data: Path) -> None:
    """Remove $TMPDIR/hivemind-pg/<state digest>/ (and hivemind-pg/) once no data dir is left in it."""
    base = Path(tempfile.gettempdir()) / "hivemind-pg"
    for directory in (data.parent, base):
        if directory.is_relative_to(base):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only succeeds when empty


def _prepare_dirs(home: Path, data: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    if data.exists():
        shutil.rmtree(data)
    data.parent.mkdir(parents=True, exist_ok=True)
    data.mkdir(mode=0o700)
    if _as_root():
        user = ensure_pg_user()
        base = data.parent
        # The fallback base (outside the state dir) must be traversable by the PostgreSQL user.
        if not str(data).startswith(str(home)):
            for directory in (base.parent, base):
                os.chmod(directory, 0o711)
        os.chown(data, user.pw_uid, user.pw_gid)
    link = home / "data"
    if link != data:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(data)


def start_server(identifier: str, username: str, password: str, db_name: str) -> PgServer:
    """initdb + start + create the database. Raises LocalDbError with PostgreSQL's own message."""
    ctx = get_context()
    if not SAFE_ID.match(identifier):
        raise LocalDbError(f"DB instance identifier {identifier!r} is not valid (letters, digits, hyphens)")
    if not SAFE_NAME.match(username):
        raise LocalDbError(f"master username {username!r} is not valid: use letters, digits and _ (max 63)")
    if not password or len(password) < 8:
        raise LocalDbError("the master password must have at least 8 characters")
    bindir = pg_bin_dir()
    home = ctx.rds_dir / identifier
    data = _data_dir(ctx, identifier)
    _prepare_dirs(home, data)
    pwfile = data.parent / f".{identifier}.pw"
    pwfile.write_text(password + "\n")
    os.chmod(pwfile, 0o600)
    if _as_root():
        user = ensure_pg_user()
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    try:
        result = _run([str(bindir / "initdb"), "-D", str(data), "-U", username, f"--pwfile={pwfile}",
                       "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"])
    finally:
        pwfile.unlink(missing_ok=True)
    if result.returncode != 0:
        raise LocalDbError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
    port = procs.free_port(HOST)
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# HiveMind local cloud\n"
            f"listen_addresses = '{HOST}'\n"
            f"port = {port}\n"
            "unix_socket_directories = ''\n"
            "fsync = off\n"
            "synchronous_commit = off\n"
            "full_page_writes = off\n"
            "max_connections = 100\n"
        )
    server = PgServer(identifier, home, data, port, username, password, db_name)
    result = _run([str(bindir / "pg_ctl"), "start", "-D", str(data), "-l", str(data / "server.log"), "-w",
                   "-t", str(START_TIMEOUT_S)], timeout=START_TIMEOUT_S + 10)
    if result.returncode != 0:
        log_tail = ""
        with contextlib.suppress(OSError):
            log_tail = "\n".join((data / "server.log").read_text().splitlines()[-10:])
        raise LocalDbError(f"PostgreSQL did not start: {result.stderr.strip()} {log_tail}".strip())
    if db_name and db_name != "postgres":
        created = subprocess.run([_client("createdb"), "-h", HOST, "-p", str(port), "-U", username, "--", db_name],
                                 env={**os.environ, **server.env()}, capture_output=True, text=True, timeout=60)
        if created.returncode != 0:
            stop_server(server, remove=True)
            raise LocalDbError(f"creating database {db_name!r} failed: {created.stderr.strip()}")
    server.meta.write_text(json.dumps({"identifier": identifier, "port": port, "data": str(data),
                                       "username": username, "db_name": db_name}))
    with _servers_lock:
        _servers[identifier] = server
    log.info("PostgreSQL %s: %s:%d db %s (data %s)", identifier, HOST, port, db_name or "postgres", data)
    return server


def _stop_data_dir(data: Path) -> None:
    """pg_ctl stop -m fast; if that fails, SIGTERM then SIGKILL the postmaster."""
    with contextlib.suppress(LocalDbError):
        bindir = pg_bin_dir()
        if (data / "postmaster.pid").exists():
            _run([str(bindir / "pg_ctl"), "stop", "-D", str(data), "-m", "fast", "-w", "-t", "30"], timeout=40)
    try:
        pid = int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if procs.pid_alive(pid) and procs.belongs_to(pid, str(data)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
        deadline = time.monotonic() + 10
        while procs.pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            if procs.pid_alive(pid) and procs.belongs_to(pid, str(data)):
                os.kill(pid, 9)


def stop_server(server: PgServer, *, remove: bool) -> None:
    _stop_data_dir(server.data)
    with _servers_lock:
        _servers.pop(server.identifier, None)
    if remove:
        shutil.rmtree(server.data, ignore_errors=True)
        shutil.rmtree(server.home, ignore_errors=True)
        _remove_empty_fallback(server.data)
    log.info("PostgreSQL %s stopped%s", server.identifier, " and removed" if remove else "")


def snapshot_file(snapshot_id: str) -> Path:
    """Where a manual snapshot's dump is: <state>/rds-snapshots/<snapshot-id>.sql."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", snapshot_id)
    return get_context().snapshots_dir / f"{safe}.sql"


def dump(server: PgServer, snapshot_id: str) -> Path:
    """pg_dump the instance's database to <state>/rds-snapshots/<snapshot-id>.sql."""
    target = snapshot_file(snapshot_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_client("pg_dump"), "-h", HOST, "-p", str(server.port), "-U", server.username, "--no-owner",
         "-f", str(target), "--", server.db_name or "postgres"],
        env={**os.environ, **server.env()}, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        target.unlink(missing_ok=True)
        raise LocalDbError(f"pg_dump of {server.identifier} failed: {result.stderr.strip()}")
    log.info("snapshot %s of %s -> %s", snapshot_id, server.identifier, target)
    return target


def load(server: PgServer, path: Path) -> None:
    """Replay a snapshot's dump into the instance's database (RestoreDBInstanceFromDBSnapshot)."""
    result = subprocess.run(
        [_client("psql"), "-h", HOST, "-p", str(server.port), "-U", server.username, "-d", server.db_name or "postgres",
         "-v", "ON_ERROR_STOP=1", "-q", "-f", str(path)],
        env={**os.environ, **server.env()}, capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0:
        raise LocalDbError(f"restoring {path.name} into {server.identifier} failed: {result.stderr.strip()[-2000:]}")
    log.info("restored %s into %s", path, server.identifier)


# --- install / lifecycle -----------------------------------------------------------------------
def install() -> None:
    """Patch moto's RDS backend (call once, in the server process)."""
    from moto.rds.models import DBInstance, RDSBackend

    original_create = RDSBackend.create_db_instance
    original_delete = RDSBackend.delete_db_instance
    original_snapshot = RDSBackend.create_db_snapshot
    original_address = DBInstance.address

    def create_db_instance(self: Any, db_kwargs: dict[str, Any]) -> Any:
        engine = str(db_kwargs.get("engine") or "").lower()
        if db_kwargs.get("db_cluster_identifier") is None and engine not in SUPPORTED_ENGINES:
            raise _error("UnsupportedLocally",
                         f"The HiveMind local cloud runs RDS engine postgres only; engine {engine or '(none)'!r} "
                         f"is not supported locally. Deploy to AWS, or use PostgreSQL.")
        if not db_kwargs.get("port"):
            db_kwargs["port"] = 5432
        database = original_create(self, db_kwargs)
        if engine not in SUPPORTED_ENGINES:
            return database
        # moto's public property refuses to reveal the password; the value is kept privately.
        password = str(getattr(database, "_master_user_password", None) or "")
        try:
            server = start_server(database.db_instance_identifier, str(database.master_username or "postgres"),
                                  password, str(database.db_name or ""))
        except Exception as exc:
            # Forget the instance (and its automated snapshot) so nothing half-made remains.
            with contextlib.suppress(Exception):
                original_delete(self, database.db_instance_identifier, None, True, True)
            raise _error("InvalidParameterValue", f"local PostgreSQL for {database.db_instance_identifier}: {exc}") \
                from None
        database.port = server.port
        return database

    def delete_db_instance(self: Any, db_instance_identifier: str, *args: Any, **kwargs: Any) -> Any:
        database = original_delete(self, db_instance_identifier, *args, **kwargs)
        server = server_for(db_instance_identifier)
        if server is not None:
            stop_server(server, remove=True)
        return database

    def create_db_snapshot(self: Any, db_instance_identifier: str, db_snapshot_identifier: str,
                           snapshot_type: str = "manual", *args: Any, **kwargs: Any) -> Any:
        server = server_for(db_instance_identifier)
        if snapshot_type == "manual" and server is not None and server.running():
            try:
                dump(server, db_snapshot_identifier)
            except (LocalDbError, subprocess.SubprocessError) as exc:
                raise _error("InvalidDBInstanceState", str(exc)) from None
        return original_snapshot(self, db_instance_identifier, db_snapshot_identifier, snapshot_type,
                                  *args, **kwargs)

    def address(self: Any) -> str:
        if server_for(self.db_instance_identifier) is not None:
            return HOST
        return original_address.fget(self)  # type: ignore[union-attr]

    original_delete_snapshot = RDSBackend.delete_db_snapshot
    original_restore = RDSBackend.restore_db_instance_from_db_snapshot

    def restore_db_instance_from_db_snapshot(self: Any, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        database = original_restore(self, from_snapshot_id, overrides)  # starts an empty server (create above)
        snapshot_id = from_snapshot_id.rsplit(":", 1)[-1] if from_snapshot_id.startswith("arn:") else from_snapshot_id
        server = server_for(database.db_instance_identifier)
        path = snapshot_file(snapshot_id)
        if server is not None and path.exists():
            try:
                load(server, path)
            except (LocalDbError, subprocess.SubprocessError) as exc:
                with contextlib.suppress(Exception):
                    original_delete(self, database.db_instance_identifier, None, True, True)
                stop_server(server, remove=True)
                raise _error("InvalidRestoreFault", str(exc)) from None
        return database

    RDSBackend.restore_db_instance_from_db_snapshot = restore_db_instance_from_db_snapshot  # type: ignore[method-assign]

    def delete_db_snapshot(self: Any, db_snapshot_identifier: str, *args: Any, **kwargs: Any) -> Any:
        snapshot = original_delete_snapshot(self, db_snapshot_identifier, *args, **kwargs)
        snapshot_file(db_snapshot_identifier).unlink(missing_ok=True)
        return snapshot

    RDSBackend.delete_db_snapshot = delete_db_snapshot  # type: ignore[method-assign]
    RDSBackend.create_db_instance = create_db_instance  # type: ignore[method-assign]
    RDSBackend.delete_db_instance = delete_db_instance  # type: ignore[method-assign]
    RDSBackend.create_db_snapshot = create_db_snapshot  # type: ignore[method-assign]
    DBInstance.address = property(address)  # type: ignore[method-assign,assignment]


def cleanup_stale(ctx: LocalContext) -> None:
    """Servers whose emulator state is gone (no snapshot, or ``local down --purge``): stop and remove."""
    if not ctx.rds_dir.is_dir():
        return
    for home in ctx.rds_dir.iterdir():
        if not home.is_dir():
            continue
        data = (home / "data").resolve()
        _stop_data_dir(data)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        _remove_empty_fallback(data)
        log.info("removed stale PostgreSQL data %s", home)


def _adopt_or_start(server: PgServer) -> None:
    """Keep a postmaster that still runs on this data dir (a crash left it), else start it again.

    A port another program took meanwhile is replaced by a free one (appended to
    postgresql.conf: the last setting wins); the caller updates the DB instance's endpoint.
    """
    pid = server.postmaster_pid()
    if pid is not None and procs.pid_alive(pid) and procs.belongs_to(pid, str(server.data)):
        log.info("PostgreSQL %s: still running (pid %d) on %s:%d, kept", server.identifier, pid, HOST, server.port)
        return
    (server.data / "postmaster.pid").unlink(missing_ok=True)  # stale: its process is gone
    if procs.port_open(HOST, server.port):
        old, server.port = server.port, procs.free_port(HOST)
        with open(server.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {server.port}  # {HOST}:{old} was taken at restart\n")
        log.error("PostgreSQL %s: port %s:%d is taken by another program; it now listens on %s:%d",
                  server.identifier, HOST, old, HOST, server.port)
    result = _run([str(pg_bin_dir() / "pg_ctl"), "start", "-D", str(server.data), "-l",
                   str(server.data / "server.log"), "-w", "-t", str(START_TIMEOUT_S)], timeout=START_TIMEOUT_S + 10)
    if result.returncode != 0:
        raise LocalDbError(f"PostgreSQL {server.identifier} did not start again: {result.stderr.strip()}")
    log.info("PostgreSQL %s: started again on %s:%d (data %s)", server.identifier, HOST, server.port, server.data)


def restore(ctx: LocalContext) -> list[str]:
    """After the emulator state was loaded: every postgres DB instance's server runs again on its
    data dir and port; data dirs the restored emulator does not know are removed."""
    from moto.rds.models import rds_backends

    known: dict[str, Any] = {}
    for account in list(dict.values(rds_backends)):
        for backend in list(dict.values(account)):
            for database in list(backend.databases.values()):
                if str(database.engine or "").lower() in SUPPORTED_ENGINES:
                    known[database.db_instance_identifier] = database
    started = []
    for home in sorted(ctx.rds_dir.iterdir()) if ctx.rds_dir.is_dir() else []:
        database = known.get(home.name)
        try:
            meta = json.loads((home / "server.json").read_text())
        except (OSError, ValueError):
            meta = None
        if database is None or meta is None:
            data = (home / "data").resolve()
            _stop_data_dir(data)
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(home, ignore_errors=True)
            _remove_empty_fallback(data)
            log.info("removed PostgreSQL data %s: the restored emulator has no such DB instance", home)
            continue
        server = PgServer(home.name, home, Path(meta["data"]), int(meta["port"]), meta["username"],
                          str(getattr(database, "_master_user_password", None) or ""), meta.get("db_name") or "")
        try:
            _adopt_or_start(server)
        except (LocalDbError, subprocess.SubprocessError) as exc:
            log.error("PostgreSQL %s could not be restored: %s", home.name, exc)
            continue
        if server.port != int(meta["port"]):
            meta["port"] = server.port
            server.meta.write_text(json.dumps(meta))
        database.port = server.port
        with _servers_lock:
            _servers[server.identifier] = server
        started.append(server.identifier)
    return started


def shutdown() -> None:
    """At server stop: stop every PostgreSQL server; its data stays (``local down --purge`` removes it)."""
    with _servers_lock:
        servers = list(_servers.values())
    for server in servers:
        stop_server(server, remove=False)
