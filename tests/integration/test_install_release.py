"""install-release / stop-app / harden, run for real from their rendered SSM documents.

Each test gets a sandbox (HIVEMIND_ROOT in tmp), its own loopback address 127.0.0.x and a free
port, exactly as the local cloud gives an instance. Releases come from a moto S3 server through
the real `aws s3 cp` (AWS_ENDPOINT_URL), database credentials from moto Secrets Manager, the
database is a throwaway PostgreSQL started here. The apps are the real samples in examples/ and
the broken fixtures in tests/fixtures/broken/, built with the real pip / npm / go.

pip, npm and go caches are shared by the whole session (HIVEMIND_CACHE_DIR) so the suite stays
fast; every test still builds its own virtualenv / node_modules / binary in its own sandbox.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from hivemind.scripts.documents import (
    ERROR_KINDS,
    SCRIPT_DIR,
    harden_document,
    install_document,
    render_commands,
    stop_document,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
BROKEN = REPO / "tests" / "fixtures" / "broken"
REGION = "us-east-1"
BUCKET = "hivemind-artifacts-123456789012-us-east-1"
RUN_TIMEOUT = 300  # bound on one document run (a cold npm/pip install included)
SKIP_IN_TARBALL = {"node_modules", ".venv", "venv", "__pycache__", "bin", ".git"}


# --- helpers --------------------------------------------------------------------------------
def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def random_host() -> str:
    return f"127.0.0.{random.randint(2, 250)}"


def pack(src: Path, dest: Path) -> Path:
    """A release tarball as HiveMind makes it: the repo's root is the tarball's root."""

    def keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
        return None if set(Path(info.name).parts) & SKIP_IN_TARBALL else info

    with tarfile.open(dest, "w:gz") as tar:
        tar.add(src, arcname=".", filter=keep)
    return dest


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def refused(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex((host, port)) != 0


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def kind(self) -> str | None:
        if self.last_line.startswith("HIVEMIND_ERROR "):
            return self.last_line.split()[1].rstrip(":")
        return None

    @property
    def ok_fields(self) -> dict[str, str]:
        assert self.last_line.startswith("HIVEMIND_OK "), self.stdout + self.stderr
        return dict(part.split("=", 1) for part in self.last_line.split()[1:] if "=" in part)


@dataclass
class Sandbox:
    """One instance of the local cloud: a root directory, an address and a port."""

    root: Path
    host: str
    port: int
    deployment_id: str
    env: dict[str, str]
    runs: list[Run] = field(default_factory=list)

    def run(self, document: dict, params: dict[str, list[str]], extra_env: dict[str, str] | None = None) -> Run:
        lines = render_commands(document, params)
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", "-c", "\n".join(lines)],
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        run = Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - started)
        self.runs.append(run)
        return run

    def install(self, release_url: str, release_id: str = "r-1", **params: str) -> Run:
        values = {
            "DeploymentId": self.deployment_id,
            "ReleaseId": release_id,
            "ReleaseUrl": release_url,
            "Port": str(self.port),
            "Region": REGION,
            **params,
        }
        return self.run(install_document(), {k: [v] for k, v in values.items()})

    def stop(self, purge: bool = False) -> Run:
        return self.run(stop_document(), {"DeploymentId": [self.deployment_id], "Purge": [str(purge).lower()]})

    def harden(self, check_only: bool) -> Run:
        return self.run(harden_document(), {"DeploymentId": [self.deployment_id], "CheckOnly": [str(check_only).lower()]})

    @property
    def pid_file(self) -> Path:
        return self.root / "run" / "hivemind" / f"{self.deployment_id}.pid"

    @property
    def env_file(self) -> Path:
        return self.root / "etc" / "hivemind" / f"{self.deployment_id}.env"

    @property
    def app_home(self) -> Path:
        return self.root / "opt" / "hivemind" / self.deployment_id

    def app_pids(self) -> list[int]:
        """Live processes that belong to this sandbox's app (they carry its pid-file marker)."""
        marker = f"HIVEMIND_PID_FILE={self.pid_file}".encode()
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if marker not in (proc / "environ").read_bytes().split(b"\0"):
                    continue
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                found.append(int(proc.name))
        return found

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def cleanup(self) -> None:
        """Finalizer: stop the app however the test ended; kill anything that survived."""
        subprocess.run(
            ["bash", str(SCRIPT_DIR / "stop-app.sh"), "--deployment-id", self.deployment_id],
            env=self.env, capture_output=True, timeout=60, check=False,
        )
        for pid in self.app_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hivemind-cache")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port("127.0.0.1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tarballs(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> dict[str, dict[str, str]]:
    """Every sample and broken fixture packed once; urls["flask-hello"] = {"s3": ..., "file": ...}."""
    out_dir = tmp_path_factory.mktemp("releases")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    urls: dict[str, dict[str, str]] = {}
    for src in [*sorted(EXAMPLES.iterdir()), *sorted(BROKEN.iterdir())]:
        if not src.is_dir():
            continue
        tarball = pack(src, out_dir / f"{src.name}.tar.gz")
        key = f"releases/{src.name}/release.tar.gz"
        s3.upload_file(str(tarball), BUCKET, key)
        urls[src.name] = {"s3": f"s3://{BUCKET}/{key}", "file": f"file://{tarball}"}
    return urls


@pytest.fixture
def make_sandbox(tmp_path: Path, cache_dir: Path, moto_endpoint: str) -> Iterator:
    made: list[Sandbox] = []

    def make(deployment_id: str = "hm-test", host: str | None = None, port: int | None = None) -> Sandbox:
        root = tmp_path / f"instance-{len(made)}"
        root.mkdir()
        host = host or random_host()
        env = {
            **os.environ,
            "HIVEMIND_ROOT": str(root),
            "HIVEMIND_BIND_HOST": host,
            "HIVEMIND_CACHE_DIR": str(cache_dir),
            "AWS_ENDPOINT_URL": moto_endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "TMPDIR": str(tmp_path),
        }
        env.pop("HIVEMIND_VALIDATE_ONLY", None)
        box = Sandbox(root, host, port or free_port(host), deployment_id, env)
        made.append(box)
        return box

    try:
        yield make
    finally:
        for box in made:
            box.cleanup()


@dataclass
class Postgres:
    host: str
    port: int
    user: str
    password: str
    dbname: str = "postgres"


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A throwaway PostgreSQL on loopback (run as `nobody` when we are root: it refuses root)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    password = "p@ss:w/rd%&'x y"  # every character that must be URL-encoded in DATABASE_URL
    base = Path(tempfile.mkdtemp(prefix="hivemind-pg-", dir="/tmp"))
    prefix: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        base.chmod(0o755)
        os.chown(base, nobody.pw_uid, nobody.pw_gid)
        prefix = ["runuser", "-u", "nobody", "--"]
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    if prefix:
        os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    data, port = base / "data", free_port("127.0.0.1")
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
                    f"--pwfile={pwfile}", "-E", "UTF8"], check=True, capture_output=True, timeout=120)
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-t", "60",
                    "-o", f"-p {port} -k {base} -h 127.0.0.1", "start"], check=True, capture_output=True, timeout=90)
    try:
        yield Postgres("127.0.0.1", port, "postgres", password)
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True,
                       timeout=60, check=False)
        shutil.rmtree(base, ignore_errors=True)


# --- the samples ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Sample:
    name: str
    params: dict[str, str]
    health_path: str
    body: str


SAMPLES = [
    Sample(
        "flask-hello",
        {"Language": "python", "PackageManager": "pip",
         "StartCommand": "gunicorn --bind ${HOST:-0.0.0.0}:${PORT:-8000} app:app"},
        "/health",
        "Hello from flask-hello on HiveMind!",
    ),
    Sample(
        "express-hello",
        {"Language": "node", "PackageManager": "npm", "StartCommand": "npm start"},
        "/healthz",
        "Hello from express-hello on HiveMind!",
    ),
    Sample(
        "go-hello",
        {"Language": "go", "PackageManager": "go", "BuildCommand": "go build -o ./bin/go-hello .",
         "StartCommand": "./bin/go-hello"},
        "/health",
        "Hello from go-hello on HiveMind!",
    ),
]
GO = SAMPLES[2]
FASTAPI = {"Language": "python", "PackageManager": "pip",
           "StartCommand": "uvicorn service:api --host ${HOST:-0.0.0.0} --port ${PORT:-8000}"}


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_sample_installs_answers_and_stops(sample: Sample, make_sandbox, tarballs) -> None:
    box = make_sandbox()
    first = box.install(tarballs[sample.name]["s3"], HealthPath=sample.health_path, **sample.params)
    assert first.returncode == 0, first.stdout + first.stderr
    pid = int(first.ok_fields["pid"])
    assert first.ok_fields["url"] == box.url(sample.health_path)
    assert http_get(box.url("/")) == (200, sample.body)
    assert http_get(box.url(sample.health_path))[0] == 200
    # The app answers on its own address only: another loopback address is not the app.
    assert pid in box.app_pids()

    # A retried deploy of the same release keeps the running process.
    retry = box.install(tarballs[sample.name]["s3"], HealthPath=sample.health_path, **sample.params)
    assert retry.returncode == 0, retry.stdout
    assert "not restarting" in retry.stdout
    assert int(retry.ok_fields["pid"]) == pid
    assert http_get(box.url("/")) == (200, sample.body)

    pids = box.app_pids()
    stopped = box.stop()
    assert stopped.returncode == 0, stopped.stdout
    assert box.app_pids() == []
    assert all(not Path(f"/proc/{p}").exists() or "Z" in Path(f"/proc/{p}/stat").read_text().split()[2]
               for p in pids)
    assert refused(box.host, box.port)


def test_fastapi_postgres_uses_the_database(make_sandbox, tarballs, postgres: Postgres, moto_endpoint) -> None:
    secret = {"username": postgres.user, "password": postgres.password, "host": postgres.host,
              "port": postgres.port, "dbname": postgres.dbname, "engine": "postgres"}
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=REGION)
    arn = sm.create_secret(Name=f"hm-db-{random.randint(0, 10**9)}", SecretString=json.dumps(secret))["ARN"]
    box = make_sandbox()
    run = box.install(tarballs["fastapi-postgres"]["s3"], HealthPath="/health", DbSecretArn=arn, **FASTAPI)
    assert run.returncode == 0, run.stdout + run.stderr
    assert postgres.password not in run.stdout + run.stderr

    status, body = http_get(box.url("/"))
    assert status == 200, body
    first = json.loads(body)
    assert first["message"] == "Hello from fastapi-postgres on HiveMind!"
    assert first["db"].startswith("postgres 15")
    second = json.loads(http_get(box.url("/"))[1])
    assert second["visits"] == first["visits"] + 1

    assert oct(box.env_file.stat().st_mode & 0o777) == "0o600"
    env_lines = box.env_file.read_text().splitlines()
    assert "DATABASE_URL=postgresql://postgres:p%40ss%3Aw%2Frd%25%26%27x%20y@127.0.0.1:" \
           f"{postgres.port}/postgres" in env_lines
    assert box.stop().returncode == 0
    assert box.app_pids() == []


def test_fastapi_postgres_without_a_database_fails_health_with_the_reason(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    run = box.install(tarballs["fastapi-postgres"]["file"], HealthPath="/health", HealthTimeout="8", **FASTAPI)
    assert run.kind == "health_check_failed", run.stdout
    assert run.returncode == ERROR_KINDS["health_check_failed"]
    assert "503" in run.last_line and "DATABASE_URL is not set" in run.last_line
    assert box.app_pids() == []


@pytest.mark.parametrize(
    ("fixture", "kind", "says"),
    [
        ("crash-on-start", "app_exited", "RuntimeError: crash-on-start"),
        ("wrong-port", "port_mismatch", ":5999"),
        ("localhost-only", "bind_mismatch", "127.0.0.1:"),
    ],
)
def test_broken_app_fails_with_its_kind_and_leaves_nothing_running(
    fixture: str, kind: str, says: str, make_sandbox, tarballs
) -> None:
    box = make_sandbox()
    run = box.install(tarballs[fixture]["file"], Language="python", PackageManager="pip",
                      StartCommand="python app.py", HealthTimeout="60")
    assert run.kind == kind, run.stdout + run.stderr
    assert run.returncode == ERROR_KINDS[kind]
    assert says in run.stdout
    assert "----- last 30 lines of" in run.stdout
    assert box.app_pids() == []
    assert not box.pid_file.exists() or not box.app_pids()


def test_a_new_release_replaces_the_old_process_and_old_releases_are_pruned(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    url = tarballs[GO.name]["file"]
    pids: list[int] = []
    for number in range(1, 6):
        run = box.install(url, release_id=f"r-{number}", HealthPath=GO.health_path, **GO.params)
        assert run.returncode == 0, run.stdout
        pids.append(int(run.ok_fields["pid"]))
        assert box.app_pids() and set(box.app_pids()).isdisjoint(pids[:-1])
        assert http_get(box.url("/")) == (200, GO.body)
    assert len(set(pids)) == 5
    releases = sorted(p.name for p in (box.app_home / "releases").iterdir() if p.is_dir())
    assert releases == ["r-3", "r-4", "r-5"]
    assert os.readlink(box.app_home / "current") == "releases/r-5"


def test_two_instances_of_one_app_share_a_port_on_their_own_addresses(make_sandbox, tarballs) -> None:
    first = make_sandbox(host="127.0.0.11")
    second = make_sandbox(host="127.0.0.12", port=first.port)
    for box in (first, second):
        run = box.install(tarballs[GO.name]["file"], HealthPath=GO.health_path, **GO.params)
        assert run.returncode == 0, run.stdout
    assert http_get(first.url("/")) == http_get(second.url("/")) == (200, GO.body)
    assert first.stop().returncode == 0
    assert first.app_pids() == [] and second.app_pids()
    assert http_get(second.url("/")) == (200, GO.body)


def test_a_port_taken_by_another_process_is_reported(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    with socket.socket() as squatter:
        squatter.bind((box.host, box.port))
        squatter.listen()
        run = box.install(tarballs[GO.name]["file"], HealthPath=GO.health_path, **GO.params)
    assert run.kind == "port_in_use", run.stdout
    assert f"{box.host}:{box.port}" in run.last_line
    assert box.app_pids() == []


def test_release_command_runs_with_the_env_file(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    run = box.install(tarballs[GO.name]["file"], HealthPath=GO.health_path,
                      ReleaseCommand="touch release-ran-on-port-$PORT", **GO.params)
    assert run.returncode == 0, run.stdout
    assert (box.app_home / "releases" / "r-1" / f"release-ran-on-port-{box.port}").exists()
    failed = box.install(tarballs[GO.name]["file"], release_id="r-2", HealthPath=GO.health_path,
                         ReleaseCommand="false", **GO.params)
    assert failed.kind == "release_command_failed"
    # The release command runs before the switch: r-1 still serves.
    assert http_get(box.url("/")) == (200, GO.body)


@pytest.mark.parametrize(
    ("case", "kind"),
    [("missing-object", "fetch_failed"), ("bad-build", "build_failed"), ("missing-secret", "secret_failed")],
)
def test_failures_before_start_are_named(case: str, kind: str, make_sandbox, tarballs) -> None:
    box = make_sandbox()
    params = {"HealthPath": GO.health_path, **GO.params}
    url = tarballs[GO.name]["s3"]
    if case == "missing-object":
        url = f"s3://{BUCKET}/releases/none/missing.tar.gz"
    elif case == "bad-build":
        params["BuildCommand"] = "go build -o ./bin/go-hello ./no-such-package"
    else:
        params["DbSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf"
    run = box.install(url, **params)
    assert run.kind == kind, run.stdout + run.stderr
    assert run.returncode == ERROR_KINDS[kind]
    assert box.app_pids() == []


def test_dependency_install_failure_shows_the_installer_output(make_sandbox, tmp_path: Path) -> None:
    app = tmp_path / "bad-deps"
    app.mkdir()
    (app / "app.py").write_text("print('never runs')\n")
    (app / "requirements.txt").write_text("./this-directory-does-not-exist\n")
    box = make_sandbox()
    run = box.install(f"file://{pack(app, tmp_path / 'bad-deps.tar.gz')}", Language="python",
                      PackageManager="pip", StartCommand="python app.py")
    assert run.kind == "dependency_install_failed", run.stdout
    assert "this-directory-does-not-exist" in run.stdout  # the tail of build.log
    assert box.app_pids() == []


def test_harden_document_checks_and_fixes_the_sandbox(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    assert box.install(tarballs[GO.name]["file"], HealthPath=GO.health_path, **GO.params).returncode == 0

    clean = box.harden(check_only=True)
    assert clean.returncode == 0, clean.stdout
    findings = {line.split()[1]: line.split()[2] for line in clean.stdout.splitlines() if line.startswith("FINDING ")}
    assert findings["HM-FILE-01"] == "PASS" and findings["HM-FILE-02"] == "PASS"
    assert findings["HM-SSH-01"] == findings["HM-SYSCTL-01"] == findings["HM-IMDS-01"] == "SKIP"

    box.env_file.chmod(0o644)
    loose = box.app_home / "current" / "loose.txt"
    loose.write_text("x")
    loose.chmod(0o666)
    report = box.harden(check_only=True)
    assert report.returncode == ERROR_KINDS["hardening_failed"]
    assert "FINDING HM-FILE-01 FAIL" in report.stdout and "FINDING HM-FILE-02 FAIL" in report.stdout
    assert report.last_line.startswith("HIVEMIND_ERROR hardening_failed")

    fixed = box.harden(check_only=False)
    assert fixed.returncode == 0, fixed.stdout
    assert box.env_file.stat().st_mode & 0o777 == 0o600
    assert loose.stat().st_mode & 0o002 == 0


def test_stop_with_purge_removes_the_deployment_files(make_sandbox, tarballs) -> None:
    box = make_sandbox()
    assert box.install(tarballs[GO.name]["file"], HealthPath=GO.health_path, **GO.params).returncode == 0
    stopped = box.stop(purge=True)
    assert stopped.returncode == 0 and "purged=yes" in stopped.last_line
    assert box.app_pids() == []
    assert not box.app_home.exists() and not box.env_file.exists()
    assert not (box.root / "var" / "log" / "hivemind" / box.deployment_id).exists()
