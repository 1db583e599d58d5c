"""An RDS PostgreSQL instance is a real PostgreSQL server; snapshots are pg_dump files."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hivemind.local import cloud as local_cloud
from hivemind.local.procs import port_open
from hm_local_testkit import processes_mentioning

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("psql") is None, reason="the psql client is needed to talk to PostgreSQL"),
]


def psql(host: str, port: int, user: str, password: str, dbname: str, sql: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"}
    return subprocess.run(  # noqa: S603 - fixed argv
        ["psql", "-h", host, "-p", str(port), "-U", user, "-d", dbname, "-tAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
        env=env, capture_output=True, text=True, timeout=30,
    )


def test_a_postgres_instance_is_a_real_server(aws: Callable[[str], Any], cloud: local_cloud.LocalCloud) -> None:
    rds = aws("rds")
    identifier = f"db-{uuid.uuid4().hex[:8]}"
    password = f"Pw-{uuid.uuid4().hex}"
    db = rds.create_db_instance(DBInstanceIdentifier=identifier, Engine="postgres", DBInstanceClass="db.t4g.micro",
                                MasterUsername="appuser", MasterUserPassword=password, DBName="appdb",
                                AllocatedStorage=20)["DBInstance"]
    host, port = db["Endpoint"]["Address"], db["Endpoint"]["Port"]
    assert host == "127.0.0.1"
    home = cloud.state_dir / "rds" / identifier
    snapshot_id = f"snap-{identifier}"
    try:
        ok = psql(host, port, "appuser", password, "appdb",
                  "CREATE TABLE visits (n int); INSERT INTO visits VALUES (42); "
                  "SELECT current_user || ' ' || current_database()")
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout.strip().splitlines()[-1] == "appuser appdb"
        wrong = psql(host, port, "appuser", "not-the-password", "appdb", "SELECT 1")
        assert wrong.returncode != 0
        assert "password authentication failed" in wrong.stderr
        assert (home / "data").exists()

        rds.create_db_snapshot(DBInstanceIdentifier=identifier, DBSnapshotIdentifier=snapshot_id)
        dump = cloud.state_dir / "rds-snapshots" / f"{snapshot_id}.sql"
        text = dump.read_text()
        assert "PostgreSQL database dump" in text
        assert "visits" in text and "42" in text

        restored = rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=f"{identifier}-r",
                                                            DBSnapshotIdentifier=snapshot_id)["DBInstance"]
        try:
            copy = psql(restored["Endpoint"]["Address"], restored["Endpoint"]["Port"], "appuser", password, "appdb",
                        "SELECT n FROM visits")
            assert copy.returncode == 0, copy.stderr
            assert copy.stdout.strip() == "42"
            assert restored["Endpoint"]["Port"] != port
        finally:
            rds.delete_db_instance(DBInstanceIdentifier=f"{identifier}-r", SkipFinalSnapshot=True)
    finally:
        rds.delete_db_instance(DBInstanceIdentifier=identifier, SkipFinalSnapshot=True)
    assert not port_open(host, port)
    assert not home.exists()
    assert processes_mentioning(identifier) == []
    rds.delete_db_snapshot(DBSnapshotIdentifier=snapshot_id)
    assert not (cloud.state_dir / "rds-snapshots" / f"{snapshot_id}.sql").exists()


def test_other_engines_are_refused_clearly(aws: Callable[[str], Any]) -> None:
    with pytest.raises(ClientError) as caught:
        aws("rds").create_db_instance(DBInstanceIdentifier=f"my-{uuid.uuid4().hex[:8]}", Engine="mysql",
                                      DBInstanceClass="db.t4g.micro", MasterUsername="admin",
                                      MasterUserPassword="password-123", AllocatedStorage=20)
    error = caught.value.response["Error"]
    assert error["Code"] == "UnsupportedLocally"
    assert "mysql" in error["Message"] and "postgres" in error["Message"]
    assert aws("rds").describe_db_instances()["DBInstances"] == [] or all(
        d["Engine"] != "mysql" for d in aws("rds").describe_db_instances()["DBInstances"])
